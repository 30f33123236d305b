"""Staff changes take effect: a save that changes what records follow from asks for them to
be recomputed (attendance.services.request_recompute), naming what changed and who did it.

Model signals catch every path (the admin, the API, imports, the shell); the request is
written in the save's own transaction and worked off by the ingest's pass, so the save
itself stays quick. Who changed it comes from the request being served (ActorMiddleware);
DRF sets the user it authenticated on the same request, so API changes are named too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from attendance import services
from attendance.days import day_bounds, local_day
from attendance.models import (
    ClassSession,
    Course,
    Enrolment,
    Holiday,
    Room,
    Visit,
    VisitSource,
)
from beacons.models import Beacon, active_phones_of
from beacons.presence import PresenceConfig
from devices.models import Card, EventType, RawEvent, Reader, SenderKind

# How far back a card's change reaches: its taps of this many days are replayed.
CARD_HISTORY_DAYS = 400  # a school year and a bit
POLICY_FIELDS = {
    "grace_minutes": ("grace", " min"),
    "min_presence_pct": ("minimum share", "%"),
    "early_minutes": ("early entry", " min"),
    "tap_required": ("tap required", ""),
}
SESSION_FIELDS = ("starts_at", "ends_at", "room_id", "cancelled")

_serving: ContextVar[HttpRequest | None] = ContextVar("serving", default=None)


class ActorMiddleware:
    """Remember the request being served, so a change can say who made it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _serving.set(request)
        try:
            return self.get_response(request)
        finally:
            _serving.reset(token)


def actor() -> str:
    request = _serving.get()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.get_username())
    return "system"


def _before(sender: type, instance: Any, fields: tuple[str, ...]) -> None:
    """Keep the saved values of `fields` on the instance, to compare after the save."""
    if instance.pk is None:
        instance._zias_before = None
        return
    saved = sender._default_manager.filter(pk=instance.pk)  # type: ignore[attr-defined]
    instance._zias_before = saved.values(*fields).first()


def _changed(instance: Any, fields: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
    before = getattr(instance, "_zias_before", None)
    if before is None:
        return {}
    return {
        f: (before[f], getattr(instance, f)) for f in fields if before[f] != getattr(instance, f)
    }


# --- courses --------------------------------------------------------------------------------


def _course_before(sender: type, instance: Course, **_: Any) -> None:
    _before(sender, instance, tuple(POLICY_FIELDS))


def _course_saved(sender: type, instance: Course, created: bool, **_: Any) -> None:
    changed = _changed(instance, tuple(POLICY_FIELDS))
    if not changed:
        return
    what = ", ".join(
        f"{POLICY_FIELDS[f][0]} {old}→{new}{POLICY_FIELDS[f][1]}"
        for f, (old, new) in changed.items()
    )
    services.request_recompute(
        f"course:{instance.code}",
        f"course {instance.code} {what} by {actor()}",
        {"sessions": _held_sessions(ClassSession.objects.filter(course=instance))},
    )


def _held_sessions(sessions: Any) -> list[int]:
    """The sessions that have begun (later ones have no records to change yet)."""
    return list(
        sessions.filter(starts_at__lte=timezone.now())
        .order_by("starts_at", "id")
        .values_list("id", flat=True)
    )


# --- sessions -------------------------------------------------------------------------------


def _session_before(sender: type, instance: ClassSession, **_: Any) -> None:
    _before(sender, instance, SESSION_FIELDS)


def _session_saved(sender: type, instance: ClassSession, created: bool, **_: Any) -> None:
    label = f"session {instance.pk} ({instance.course.code})"
    if created:
        if instance.starts_at <= timezone.now() and not instance.cancelled:
            services.request_recompute(
                f"session:{instance.pk}", f"{label} added by {actor()}", {"sessions": [instance.pk]}
            )
        return
    changed = _changed(instance, SESSION_FIELDS)
    if not changed:
        return
    what = ", ".join(_session_change(f, old, new) for f, (old, new) in changed.items())
    scope: dict[str, Any] = {"sessions": [instance.pk]}
    if instance.cancelled:
        scope = {"sessions": [], "drop": {"sessions": [instance.pk]}}
    services.request_recompute(f"session:{instance.pk}", f"{label} {what} by {actor()}", scope)


def _session_change(field: str, old: Any, new: Any) -> str:
    if field == "cancelled":
        return "cancelled" if new else "reinstated"
    if field == "room_id":
        return "moved to another room"
    name = {"starts_at": "start", "ends_at": "end"}[field]
    return f"{name} {timezone.localtime(old):%H:%M}→{timezone.localtime(new):%H:%M}"


# --- enrolments -----------------------------------------------------------------------------


def _enrolment_before(sender: type, instance: Enrolment, **_: Any) -> None:
    _before(sender, instance, ("effective_from",))


def _enrolment_saved(sender: type, instance: Enrolment, created: bool, **_: Any) -> None:
    if not created and not _changed(instance, ("effective_from",)):
        return
    since = f" from {instance.effective_from}" if instance.effective_from else ""
    services.request_recompute(
        f"course:{instance.course.code}",
        f"{instance.student.number} enrolled in {instance.course.code}{since} by {actor()}",
        {
            "sessions": _held_sessions(ClassSession.objects.filter(course_id=instance.course_id)),
            "students": [instance.student_id],
        },
    )


def _enrolment_deleted(sender: type, instance: Enrolment, origin: Any = None, **_: Any) -> None:
    # A course or student deleted takes its records with it: nothing is left to drop.
    model = getattr(origin, "model", type(origin))
    if origin is not None and model is not Enrolment:
        return
    now = timezone.now()
    services.request_recompute(
        f"course:{instance.course.code}",
        f"{instance.student.number} left {instance.course.code} by {actor()}",
        {"sessions": [], "drop": {"course": instance.course_id, "student": instance.student_id,
                                  "from": now.isoformat()}},
    )  # fmt: skip


# --- cards and readers ----------------------------------------------------------------------


def _card_before(sender: type, instance: Card, **_: Any) -> None:
    _before(sender, instance, ("student_id", "active"))


def _card_saved(sender: type, instance: Card, created: bool, **_: Any) -> None:
    changed = _changed(instance, ("student_id", "active"))
    if not created and not changed:
        return
    students = {instance.student_id}
    if "student_id" in changed:
        students.add(changed["student_id"][0])
    what = "registered" if created else _card_change(changed)
    days = _tap_days(RawEvent.objects.filter(uid=instance.uid), CARD_HISTORY_DAYS)
    services.request_recompute(
        f"card:{instance.uid}",
        f"card {instance.uid} {what} by {actor()}",
        {"student_days": sorted([s, d] for s in students for d in days)},
    )


def _card_change(changed: dict[str, tuple[Any, Any]]) -> str:
    if "student_id" in changed:
        return "reassigned"
    return "reactivated" if changed["active"][1] else "revoked"


def _reader_before(sender: type, instance: Reader, **_: Any) -> None:
    _before(sender, instance, ("room_id", "mode"))


def _reader_saved(sender: type, instance: Reader, created: bool, **_: Any) -> None:
    changed = _changed(instance, ("room_id", "mode"))
    if not changed:
        return
    what = " and ".join(
        "moved" if f == "room_id" else f"mode {o}→{n}" for f, (o, n) in changed.items()
    )
    taps = RawEvent.objects.filter(sender_kind=SenderKind.DEVICE, sender=instance.device_id)
    uids = set(
        taps.filter(type=EventType.RFID, ts__gte=timezone.now() - timedelta(days=1)).values_list(
            "uid", flat=True
        )
    )
    today = local_day(timezone.now()).isoformat()
    students = set(Card.objects.filter(uid__in=uids).values_list("student_id", flat=True))
    services.request_recompute(
        f"reader:{instance.device_id}",
        f"reader {instance.device_id} {what} by {actor()}",
        {"student_days": sorted([s, today] for s in students)},
    )


def _tap_days(taps: Any, days_back: int) -> list[str]:
    since = timezone.now() - timedelta(days=days_back)
    moments = taps.filter(type=EventType.RFID, ts__gte=since).values_list("ts", flat=True)
    return sorted({local_day(ts).isoformat() for ts in moments})


# --- beacons and rooms' BLE thresholds ------------------------------------------------------

BEACON_THRESHOLD_FIELDS = {"enter_rssi": ("enter", " dBm"), "exit_rssi": ("exit", " dBm")}
ROOM_BLE_FIELDS = {
    "ble_margin_db": ("margin", " dB"),
    "ble_enter_windows": ("enter windows", ""),
    "ble_leave_windows": ("leave windows", ""),
}
# Moments this far apart hit every phone segment in a span: a segment is found by any
# moment within the silence timeout of its reports (attendance.engine.ble.segments).
PHONE_MOMENT_STEP = PresenceConfig().silence_timeout


def _described(names: dict[str, tuple[str, str]], changed: dict[str, tuple[Any, Any]]) -> str:
    """What changed, as in "margin default→6 dB, enter windows 2→3" (empty: the default)."""
    return ", ".join(
        f"{names[f][0]} {'default' if old is None else old}→"
        f"{'default' if new is None else new}{names[f][1]}"
        for f, (old, new) in changed.items()
    )


def _beacon_before(sender: type, instance: Beacon, **_: Any) -> None:
    _before(sender, instance, ("room_id", *BEACON_THRESHOLD_FIELDS))


def _beacon_saved(sender: type, instance: Beacon, created: bool, **_: Any) -> None:
    """A beacon registered in the wrong room, now put right: replay today's BLE presence of
    the students it placed in either room (their phones' segments around those visits).
    New thresholds (calibrate_room --apply, the admin): replay today's presence that the
    beacon's room decides (`_ble_moments_deciding`)."""
    changed = _changed(instance, ("room_id", *BEACON_THRESHOLD_FIELDS))
    if not changed:
        return
    what, moments = [], set()
    if "room_id" in changed:
        what.append(f"moved to {instance.room.code}")
        moments |= _ble_visit_moments(set(changed["room_id"]))
    thresholds = {f: v for f, v in changed.items() if f in BEACON_THRESHOLD_FIELDS}
    if thresholds:
        what.append(_described(BEACON_THRESHOLD_FIELDS, thresholds))
        moments |= _ble_moments_deciding(instance.room)
    label = instance.label or f"#{instance.pk}"
    services.request_recompute(
        f"beacon:{instance.pk}",
        f"beacon {label} {' and '.join(what)} by {actor()}",
        {"phone_moments": [list(m) for m in sorted(moments)]},
    )


def _room_before(sender: type, instance: Room, **_: Any) -> None:
    _before(sender, instance, tuple(ROOM_BLE_FIELDS))


def _room_saved(sender: type, instance: Room, created: bool, **_: Any) -> None:
    """A room's own BLE margin or windows changed: replay the presence it decides today."""
    changed = _changed(instance, tuple(ROOM_BLE_FIELDS))
    if not changed:
        return
    services.request_recompute(
        f"room:{instance.code}",
        f"room {instance.code} BLE {_described(ROOM_BLE_FIELDS, changed)} by {actor()}",
        {"phone_moments": [list(m) for m in sorted(_ble_moments_deciding(instance))]},
    )


def _ble_visit_moments(room_ids: set[int]) -> set[tuple[str, str]]:
    """(phone, moment) at each of today's BLE visits in these rooms, of active phones."""
    lo, hi = day_bounds(local_day(timezone.now()))
    visits = Visit.objects.filter(
        source=VisitSource.BLE, room_id__in=room_ids, entered_at__gte=lo, entered_at__lt=hi
    ).values_list("student_id", "entered_at")
    phones = active_phones_of({s for s, _ in visits})
    return {(phones[s], at.isoformat()) for s, at in visits if s in phones}


def _ble_moments_deciding(room: Room) -> set[tuple[str, str]]:
    """What a room's thresholds decide today: the BLE visits in it and in the rooms heard
    through its walls (same building and floor), which it may take or give phones; and the
    phones of the students of its sessions so far, who may now enter it (a moment every
    PHONE_MOMENT_STEP of each session, its early minutes included)."""
    now = timezone.now()
    lo, hi = day_bounds(local_day(now))
    neighbours = set(
        Room.objects.filter(building=room.building, floor=room.floor).values_list("id", flat=True)
    )
    moments = _ble_visit_moments(neighbours | {room.pk})
    sessions = ClassSession.objects.filter(
        room=room, cancelled=False, starts_at__gte=lo, starts_at__lt=hi, starts_at__lte=now
    ).values_list("course_id", "course__early_minutes", "starts_at", "ends_at")
    enrolled: dict[int, set[int]] = defaultdict(set)
    for course, student in Enrolment.objects.filter(
        course_id__in={course for course, *_ in sessions}
    ).values_list("course_id", "student_id"):
        enrolled[course].add(student)
    phones = active_phones_of(set().union(*enrolled.values()))
    for course, early, starts_at, ends_at in sessions:
        course_phones = [phones[s] for s in enrolled[course] if s in phones]
        at, until = starts_at - timedelta(minutes=early), min(ends_at, now)
        for moment in [*_steps(at, until, PHONE_MOMENT_STEP), until]:
            moments |= {(phone, moment.isoformat()) for phone in course_phones}
    return moments


def _steps(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    moments = []
    while start <= end:
        moments.append(start)
        start += step
    return moments


# --- holidays -------------------------------------------------------------------------------


def _holiday_saved(sender: type, instance: Holiday, created: bool, **_: Any) -> None:
    """The term's timetabled sessions on the holiday's days are off: cancelled in one update
    (not one save each: a holiday can cover a week of a whole school), their records dropped
    by the pass, a person's marks kept."""
    lo, hi = day_bounds(instance.starts_on)[0], day_bounds(instance.ends_on)[1]
    off = ClassSession.objects.filter(
        slot__term_id=instance.term_id, starts_at__gte=lo, starts_at__lt=hi, cancelled=False
    )
    ids = list(off.values_list("id", flat=True))
    if not ids:
        return
    ClassSession.objects.filter(id__in=ids).update(cancelled=True)
    services.request_recompute(
        f"term:{instance.term_id}",
        f"holiday {instance.name} ({instance.starts_on} to {instance.ends_on}) by {actor()}",
        {"sessions": [], "drop": {"sessions": ids}},
    )


def connect() -> None:
    for model, before, saved in (
        (Course, _course_before, _course_saved),
        (ClassSession, _session_before, _session_saved),
        (Enrolment, _enrolment_before, _enrolment_saved),
        (Card, _card_before, _card_saved),
        (Reader, _reader_before, _reader_saved),
        (Beacon, _beacon_before, _beacon_saved),
        (Room, _room_before, _room_saved),
    ):
        pre_save.connect(before, sender=model, dispatch_uid=f"zias-changes-before-{model.__name__}")
        post_save.connect(saved, sender=model, dispatch_uid=f"zias-changes-saved-{model.__name__}")
    post_delete.connect(_enrolment_deleted, sender=Enrolment, dispatch_uid="zias-changes-unenrol")
    post_save.connect(_holiday_saved, sender=Holiday, dispatch_uid="zias-changes-holiday")
