"""Erasing a student: pseudonymise them, remove their raw sightings, keep the figures.

What goes: the door taps of their cards, their phones' BLE reports, rejected and
quarantined messages from their phones or naming their cards, their cards (and card
history) and phones, and their login's details. What stays, under a pseudonym: the
student row itself, enrolments, visits and attendance records, so every course's rates
and the room-use figures stay as they were. Recomputing a course works from the visits,
which stay; replaying the student's days finds no card of theirs, so it leaves their door
visits alone (the test runs both). Every text of every row that refers to the student, and
every flag or request that names them, has their names and identifiers replaced by the
pseudonym; the rows that refer to them come from the models' relations
(attendance.personal_data), so a model added later is covered.

Export first if the student asked for their data: an erasure cannot be undone.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import models, transaction

from attendance import live
from attendance.engine.locks import lock_students
from attendance.models import (
    PrivacyAction,
    PrivacyActionKind,
    ProxyFlag,
    RecomputeRequest,
    Student,
)
from attendance.personal_data import Identifiers, mentioning, related_models
from beacons.models import Phone
from devices.models import Card, CardHistory, CardOwnership

# Rows of these models are deleted outright: they are the student's identifiers.
DELETED_MODELS: tuple[type[models.Model], ...] = (Phone, CardHistory, Card)
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)
UNLINKED_TEXT: tuple[tuple[str, type[models.Model], str], ...] = (
    ("admin history", LogEntry, "object_repr"),
    ("recompute requests", RecomputeRequest, "cause"),
    ("recompute requests", RecomputeRequest, "subject"),
)


class ErasureRefused(ValueError):
    pass


@dataclass
class Erased:
    pseudonym: str
    removed: dict[str, int] = field(default_factory=dict)
    scrubbed: dict[str, int] = field(default_factory=dict)


def erase_student(student: Student, *, by: User | None, by_name: str, now: datetime) -> Erased:
    if student.number.startswith("erased-"):
        raise ErasureRefused(f"{student.number} is already erased")
    user = student.user
    if user is not None and (user.is_staff or user.taught_courses.exists()):
        raise ErasureRefused(
            "this student's login is also a staff or teacher account; unlink it first"
        )
    words = personal_words(student)
    ids = Identifiers.of(student)
    erased = Erased(pseudonym=f"erased-{secrets.token_hex(5)}")
    with transaction.atomic():
        lock_students({student.pk})  # after any batch replaying this student's day
        removed = erased.removed
        removed["door taps"] = ids.door_taps().delete()[0]
        removed["BLE reports"] = ids.ble_reports().delete()[0]
        removed["rejected messages"] = ids.rejected_messages().delete()[0]
        removed["quarantined messages"] = ids.quarantined_messages().delete()[0]
        removed["phones"] = Phone.objects.filter(student=student).delete()[0]
        removed["card history"] = CardHistory.objects.filter(student=student).delete()[0]
        removed["cards"] = _delete_own_cards(student)
        pattern = _pattern(words)
        for related in related_models():
            if related.model in DELETED_MODELS:
                continue
            count = _scrub(related.rows(student.pk), pattern, erased.pseudonym)
            if count:
                erased.scrubbed[related.label] = count
            if files := _delete_files(related.rows(student.pk)):
                removed[f"files of {related.label}"] = files
        # Other students' flags can name this one's card or phone in their evidence.
        others = mentioning(ProxyFlag.objects.exclude(student=student), "evidence", words)
        flagged = ProxyFlag.objects.filter(pk__in=list(others.values_list("pk", flat=True)))
        if count := _scrub(flagged, pattern, erased.pseudonym):
            erased.scrubbed["other students' flags"] = count
        # Rows that name the student in their text without a relation to the row: the
        # admin's history ("Ada Okafor (S1001)"), recompute requests ("card ... reassigned").
        for label, model, field_name in UNLINKED_TEXT:
            found = mentioning(model._default_manager.all(), field_name, words)
            rows = model._default_manager.filter(pk__in=list(found.values_list("pk", flat=True)))
            if count := _scrub(rows, pattern, erased.pseudonym):
                erased.scrubbed[label] = erased.scrubbed.get(label, 0) + count
        # The live pages know students by number: take the old one out of any room now.
        live.publish_on_commit([live.LiveMove(student.number, None, None, now)], {})
        _pseudonymise(student, erased.pseudonym)
        PrivacyAction.objects.create(
            kind=PrivacyActionKind.ERASE,
            student=student,
            by=by,
            by_name=by_name[:150],
            at=now,
            detail={"removed": erased.removed, "scrubbed": erased.scrubbed},
        )
    return erased


def _delete_files(rows: models.QuerySet) -> int:
    """Uploaded files (an excuse's document) go with the erasure; the field is emptied."""
    fields = [f for f in rows.model._meta.concrete_fields if isinstance(f, models.FileField)]
    deleted = 0
    for row in rows if fields else ():
        for f in fields:
            stored = getattr(row, f.attname)
            if stored:
                stored.delete(save=False)
                rows.model._default_manager.filter(pk=row.pk).update(**{f.attname: ""})
                deleted += 1
    return deleted


def _delete_own_cards(student: Student) -> int:
    """Delete the student's cards, except one that someone else owned before: its
    ownership history decides whose taps those were, so it stays (the student's own
    ownership of it is scrubbed with the other related rows)."""
    cards = Card.objects.filter(student=student)
    shared = CardOwnership.objects.filter(card__in=cards).exclude(student=student)
    return cards.exclude(pk__in=shared.values("card_id")).delete()[0]


def personal_words(student: Student) -> list[str]:
    """The values that identify the student, as they may appear inside other rows' text."""
    ids = Identifiers.of(student)
    words = [student.number, student.first_name, student.last_name, student.email]
    words += [student.full_name, *ids.card_uids, *ids.phone_ids]
    if student.user is not None:
        user = student.user
        words += [user.get_username(), user.email, user.first_name, user.last_name]  # type: ignore[attr-defined]
    # Longest first, so a full name goes before the first name inside it.
    return sorted({w for w in words if w and len(w) >= 2}, key=len, reverse=True)


def _pattern(words: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)


def _scrub(rows: models.QuerySet, pattern: re.Pattern[str], pseudonym: str) -> int:
    """Replace the words in every text and JSON field of these rows; how many changed."""
    model = rows.model
    names = [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, TEXT_FIELDS) and not f.primary_key and not f.choices
    ]
    changed = 0
    for row in rows.values("pk", *names):
        changes = {}
        for name in names:
            value = _replaced(row[name], pattern, pseudonym)
            if value != row[name]:
                changes[name] = value
        if changes:
            # update(): no signals and no auto_now, so the row keeps its last-changed time.
            model._default_manager.filter(pk=row["pk"]).update(**changes)
            changed += 1
    return changed


def _replaced(value: Any, pattern: re.Pattern[str], pseudonym: str) -> Any:
    if isinstance(value, str):
        return pattern.sub(pseudonym, value)
    if isinstance(value, list):
        return [_replaced(v, pattern, pseudonym) for v in value]
    if isinstance(value, dict):
        return {
            _replaced(k, pattern, pseudonym): _replaced(v, pattern, pseudonym)
            for k, v in value.items()
        }
    return value


def _pseudonymise(student: Student, pseudonym: str) -> None:
    user = student.user
    student.number = pseudonym
    student.first_name = "Erased"
    student.last_name = "student"
    student.email = ""
    student.active = False
    student.user = None
    student.save()
    if user is not None:
        user.username = pseudonym  # type: ignore[attr-defined]
        user.first_name = user.last_name = user.email = ""  # type: ignore[attr-defined]
        user.is_active = False
        user.set_unusable_password()
        user.save()
