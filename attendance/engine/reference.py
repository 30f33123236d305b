"""Reference data kept in memory between ingest batches, and the stamp that retires it.

Readers, cards, students, rooms, phones and the sessions of a room-day change rarely, yet every
batch asks for much the same ones: at a steady trickle of small batches, reading them again
was a third of each batch's queries. Any save or delete of those models (admin, API,
management commands: anything that goes through the ORM's save and delete) sets a new
random token in the same transaction; an ingest batch reads the token once, first, and
keeps using what it has read while the token is the one it was read under. A change made
around the ORM (a queryset update, raw SQL) is not seen until MAX_AGE has passed, or until
`reference_changed()` is called after it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict
from typing import Any

from django.db import connection
from django.db.models.signals import post_delete, post_save

from attendance.models import ClassSession, Course, ReferenceStamp, Room, Student
from beacons.models import Phone
from devices.models import Card, Reader

STAMP = "reference"
MAX_AGE_S = 60.0  # a change made around the ORM is seen at most this late
WATCHED = (Reader, Card, Student, Room, Course, ClassSession, Phone)
Memo = dict[str, dict[Any, Any]]

_lock = threading.Lock()
_kept: dict[str, Any] = {"token": None, "since": 0.0, "memo": None}


def fresh_memo() -> Memo:
    """An empty memo: one dict of key -> value (None: not there) per kind of thing."""
    return defaultdict(dict)


def kept_memo() -> Memo:
    """What earlier batches read, if the stamp is unchanged (and it is not too old); else
    an empty memo that later batches keep. Read the stamp before anything it covers."""
    token = _current_token()
    with _lock:
        fresh = time.monotonic() - _kept["since"] < MAX_AGE_S
        if token is None or token != _kept["token"] or not fresh:
            _kept.update(token=token, since=time.monotonic(), memo=fresh_memo())
        return _kept["memo"]  # type: ignore[no-any-return]


def _current_token() -> int | None:
    table = connection.ops.quote_name(ReferenceStamp._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {table} WHERE name = %s", [STAMP])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else None


def reference_changed(**_: object) -> None:
    """Retire every ingest process's kept reference data (from the current transaction's
    commit on)."""
    token = secrets.randbits(62)
    if not ReferenceStamp.objects.filter(name=STAMP).update(token=token):
        ReferenceStamp.objects.bulk_create(
            [ReferenceStamp(name=STAMP, token=token)], ignore_conflicts=True
        )
        ReferenceStamp.objects.filter(name=STAMP).update(token=token)


def connect_signals() -> None:
    for model in WATCHED:
        uid = f"attendance.reference_changed.{model.__name__}"
        post_save.connect(reference_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(reference_changed, sender=model, dispatch_uid=f"{uid}.delete")
