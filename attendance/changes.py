"""Staff changes take effect: a save that changes what records follow from asks for them to
be recomputed (attendance.services.request_recompute), naming what changed and who did it.

Model signals catch every path (the admin, the API, imports, the shell); the request is
written in the save's own transaction and worked off by the ingest's pass, so the save
itself stays quick. Who changed it comes from the request being served (ActorMiddleware);
DRF sets the user it authenticated on the same request, so API changes are named too.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from attendance import services
from attendance.days import day_bounds, local_day
from attendance.models import ClassSession, Course, Enrolment, Holiday, Visit, VisitSource
from beacons.models import Beacon, Phone
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


# --- beacons --------------------------------------------------------------------------------


def _beacon_before(sender: type, instance: Beacon, **_: Any) -> None:
    _before(sender, instance, ("room_id",))


def _beacon_saved(sender: type, instance: Beacon, created: bool, **_: Any) -> None:
    """A beacon registered in the wrong room, now put right: replay today's BLE presence of
    the students it placed in either room (their phones' segments around those visits)."""
    changed = _changed(instance, ("room_id",))
    if not changed:
        return
    lo, hi = day_bounds(local_day(timezone.now()))
    visits = Visit.objects.filter(
        source=VisitSource.BLE, room_id__in=set(changed["room_id"]), entered_at__gte=lo,
        entered_at__lt=hi,
    ).values_list("student_id", "entered_at")  # fmt: skip
    phones = dict(
        Phone.objects.filter(student_id__in={s for s, _ in visits}, active=True).values_list(
            "student_id", "phone_id"
        )
    )
    moments = sorted({(phones[s], at.isoformat()) for s, at in visits if s in phones})
    label = instance.label or f"#{instance.pk}"
    services.request_recompute(
        f"beacon:{instance.pk}",
        f"beacon {label} moved to {instance.room.code} by {actor()}",
        {"phone_moments": [list(m) for m in moments]},
    )


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
    ):
        pre_save.connect(before, sender=model, dispatch_uid=f"zias-changes-before-{model.__name__}")
        post_save.connect(saved, sender=model, dispatch_uid=f"zias-changes-saved-{model.__name__}")
    post_delete.connect(_enrolment_deleted, sender=Enrolment, dispatch_uid="zias-changes-unenrol")
    post_save.connect(_holiday_saved, sender=Holiday, dispatch_uid="zias-changes-holiday")
