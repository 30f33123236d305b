"""Everything ZIAS holds about one student, found by following the models' relations.

The rows that point at a student (directly, like their records, or through another row,
like a record's revisions) are found from the models' metadata, so a model added later is
exported and scrubbed without anyone remembering to list it. The evidence that names a
student only by an identifier (door taps by card UID, BLE reports and rejected messages by
phone id) is found by those identifiers.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import FileField, Q, QuerySet
from django.db.models.functions import Cast

from attendance.models import PrivacyAction, PrivacyActionKind, Student
from beacons.models import Phone
from devices.models import (
    Card,
    CardOwnership,
    EventType,
    QuarantinedMessage,
    RawEvent,
    RejectedMessage,
    SenderKind,
)

# Reverse relations are followed this many steps from the student (a record, then its
# revisions and audit entries; a card, then its history).
MAX_DEPTH = 3
# Fields never exported: credentials, even hashed.
SECRET_FIELDS = {"mqtt_password_hash", "password"}
LOGIN_FIELDS = ("username", "first_name", "last_name", "email", "date_joined", "last_login")


@dataclass(frozen=True)
class Related:
    """A model with rows about a student, and the lookups from it to the student's id."""

    model: type[models.Model]
    lookups: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.model._meta.label

    def rows(self, student_id: int) -> QuerySet:
        match = Q()
        for lookup in self.lookups:
            match |= Q(**{lookup: student_id})
        return self.model._default_manager.filter(match).distinct().order_by("pk")


def related_models(root: type[models.Model] = Student) -> list[Related]:
    """Every model with a foreign key (or one-to-one) path to `root`, hidden relations
    (related_name="+") included; many-to-many goes through its explicit through model."""
    found: dict[type[models.Model], list[str]] = {}
    frontier: list[tuple[type[models.Model], str]] = [(root, "")]
    for _ in range(MAX_DEPTH):
        following: list[tuple[type[models.Model], str]] = []
        for model, path in frontier:
            for relation in model._meta.get_fields(include_hidden=True):
                if not (relation.auto_created and not relation.concrete):
                    continue
                if not (relation.one_to_many or relation.one_to_one):
                    continue
                target = relation.related_model
                if target is root or target is None:
                    continue
                lookup = relation.field.name + (f"__{path}" if path else "")  # type: ignore[union-attr]
                found.setdefault(target, []).append(lookup)  # type: ignore[arg-type]
                following.append((target, lookup))  # type: ignore[arg-type]
        frontier = following
    return [Related(model, tuple(lookups)) for model, lookups in found.items()]


Owned = tuple[str, datetime, datetime | None]  # (card uid, since, until)


@dataclass(frozen=True)
class Identifiers:
    """What names the student in evidence that has no foreign key to them."""

    card_uids: tuple[str, ...]
    phone_ids: tuple[str, ...]
    # When each card was theirs: a tap is whoever owned the card at that moment.
    owned: tuple[Owned, ...] = ()

    @classmethod
    def of(cls, student: Student) -> Identifiers:
        owned = tuple(
            CardOwnership.objects.filter(student=student)
            .order_by("since")
            .values_list("card__uid", "since", "until")
        )
        uids = {uid for uid, _, _ in owned}
        uids |= set(Card.objects.filter(student=student).values_list("uid", flat=True))
        phones = Phone.objects.filter(student=student).values_list("phone_id", flat=True)
        return cls(tuple(sorted(uids)), tuple(sorted(phones)), owned)

    def door_taps(self) -> QuerySet[RawEvent]:
        taps = RawEvent.objects.filter(sender_kind=SenderKind.DEVICE, type=EventType.RFID)
        if not self.owned:  # a card from before ownership was recorded
            return taps.filter(uid__in=self.card_uids)
        match = Q()
        for uid, since, until in self.owned:
            match |= Q(uid=uid, ts__gte=since, **({"ts__lt": until} if until else {}))
        return taps.filter(match)

    def ble_reports(self) -> QuerySet[RawEvent]:
        return RawEvent.objects.filter(sender_kind=SenderKind.PHONE, sender__in=self.phone_ids)

    def rejected_messages(self) -> QuerySet[RejectedMessage]:
        match = Q(sender__in=self.phone_ids)
        for uid in self.card_uids:
            match |= Q(payload__icontains=uid)
        return RejectedMessage.objects.filter(match)

    def quarantined_messages(self) -> QuerySet[QuarantinedMessage]:
        """Messages the server failed on that came from the student's phone or name their
        card. Payloads are kept as bytes, so they are searched here rather than in SQL (the
        quarantine holds a handful of rows, not millions)."""
        words = [w.encode() for w in (*self.card_uids, *self.phone_ids)]
        if not words:
            return QuarantinedMessage.objects.none()
        held = QuarantinedMessage.objects.values_list("pk", "topic", "payload")
        ids = [
            pk
            for pk, topic, payload in held.iterator()
            if any(w.lower() in (topic.encode() + b" " + bytes(payload)).lower() for w in words)
        ]
        return QuarantinedMessage.objects.filter(pk__in=ids)


def mentioning(queryset: QuerySet, field: str, words: list[str]) -> QuerySet:
    """Rows whose `field` (text or JSON) contains any of `words`, ignoring case."""
    if not words:
        return queryset.none()
    text = queryset.annotate(_as_text=Cast(field, models.TextField()))
    match = Q()
    for word in words:
        match |= Q(_as_text__icontains=word)
    return text.filter(match)


# --- export -----------------------------------------------------------------------------


def export_sections(student: Student, now: datetime) -> Iterator[tuple[str, Any]]:
    """(file name, JSON-able content) for each part of a student's export."""
    ids = Identifiers.of(student)
    yield (
        "student.json",
        {
            "exported_at": now,
            "student": _plain(Student.objects.filter(pk=student.pk))[0],
            "login": _login(student),
            "card_uids": list(ids.card_uids),
            "phone_ids": list(ids.phone_ids),
        },
    )
    for related in related_models():
        rows = _plain(related.rows(student.pk))
        if rows:
            yield f"related/{related.label}.json", rows
    yield "evidence/door_taps.json", _plain(ids.door_taps().order_by("ts", "pk"))
    yield "evidence/ble_reports.json", _plain(ids.ble_reports().order_by("ts", "pk"))
    yield "evidence/rejected_messages.json", _plain(ids.rejected_messages().order_by("pk"))
    yield "evidence/quarantined_messages.json", _plain(ids.quarantined_messages().order_by("pk"))


README = """\
Everything ZIAS holds about one student, as JSON.

student.json      the student, their login (if any), their cards and phones' identifiers
related/*.json    every row that refers to the student: enrolments, visits, attendance
                  records and their revisions, audit entries, flags, cards, phones...
                  one file per kind of row ("model"), each row with its fields
evidence/*.json   what the door readers and the phone app sent: card taps, BLE scan
                  reports, messages refused as malformed, and messages kept in
                  quarantine because the server failed on them

files/             documents uploaded with their excuses, if any

Times are UTC (ISO 8601). Passwords and credential hashes are never exported.
"""


def export_zip(student: Student, now: datetime) -> tuple[bytes, dict[str, int]]:
    """The ZIP archive, and how many rows each file holds (for the audit row)."""
    buffer = io.BytesIO()
    counts: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        for name, content in export_sections(student, now):
            counts[name] = len(content) if isinstance(content, list) else 1
            archive.writestr(name, json.dumps(content, cls=DjangoJSONEncoder, indent=2))
        for name, data in uploaded_files(student):
            archive.writestr(f"files/{name}", data)
            counts["files"] = counts.get("files", 0) + 1
    return buffer.getvalue(), counts


def uploaded_files(student: Student) -> Iterator[tuple[str, bytes]]:
    """(name in the archive, content) of every file a related row holds (excuse documents)."""
    for related in related_models():
        fields = [f for f in related.model._meta.concrete_fields if isinstance(f, FileField)]
        for row in related.rows(student.pk) if fields else ():
            for f in fields:
                stored = getattr(row, f.attname)
                if stored:
                    with stored.open("rb") as handle:
                        yield (
                            f"{related.label}/{row.pk}/{stored.name.rsplit('/', 1)[-1]}",
                            (handle.read()),
                        )


def export_student(student: Student, *, by: User | None, by_name: str, now: datetime) -> bytes:
    """The student's export as a ZIP, recorded in the audit (who, when, how many rows)."""
    archive, counts = export_zip(student, now)
    PrivacyAction.objects.create(
        kind=PrivacyActionKind.EXPORT,
        student=student,
        by=by,
        by_name=by_name[:150],
        at=now,
        detail={"files": counts},
    )
    return archive


def export_file_name(student: Student, now: datetime) -> str:
    return f"zias-personal-data-{student.number}-{now:%Y%m%d-%H%M%S}.zip"


def _plain(queryset: QuerySet) -> list[dict[str, Any]]:
    rows = []
    for item in serializers.serialize("python", queryset):
        fields = {k: _readable(v) for k, v in item["fields"].items() if k not in SECRET_FIELDS}
        rows.append({"model": item["model"], "pk": item["pk"], **fields})
    return rows


def _readable(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return value


def _login(student: Student) -> dict[str, Any] | None:
    user = student.user
    if user is None:
        return None
    return {name: getattr(user, name, None) for name in LOGIN_FIELDS}
