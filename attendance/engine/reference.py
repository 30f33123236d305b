"""Reference data kept in memory between ingest batches, and the change log that retires it.

Readers, cards, students, rooms, phones and the sessions of a room-day change rarely, yet every
batch asks for much the same ones: at a steady trickle of small batches, reading them again
was a third of each batch's queries. Any save or delete of those models (admin, API,
management commands: anything that goes through the ORM's save and delete) adds a
ReferenceChange row in the same transaction; an ingest batch reads the log's stamp once,
first, and keeps using what it has read while the stamp is the one it was read under. A
change made around the ORM (a queryset update, raw SQL) is not seen until MAX_AGE has
passed, or until `reference_changed()` is called after it.

The log is added to, never updated: one shared row updated by every change would make each
staff transaction that saves one of these models hold that row's lock until it commits, so
a long import would hold up every other save, and two transactions saving the same objects
in opposite orders could deadlock on it. Inserts wait on nothing.

The stamp counts every change ever committed: the rows, plus what each prune folded into
the row it adds (`pruned`: the rows it removed and what they had folded in). A commit of a
change raises it by one, whatever ids it holds and in whatever order transactions commit,
and so does a prune (it removes n rows and their folded count and adds one row carrying
both). It never repeats, so a process never mistakes a new state for the one it read under;
a rolled-back change is never seen at all. (The stamp also carries the highest id: see
_current_stamp.)
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from attendance.models import ClassSession, Course, ReferenceChange, Room, Student
from beacons.models import Phone
from devices.models import Card, Reader

MAX_AGE_S = 60.0  # a change made around the ORM is seen at most this late
# The log is pruned back to its newest KEEP rows once it holds more than PRUNE_ABOVE: every
# batch counts its rows (a thousand rows cost a batch about 0.3 ms on MariaDB).
PRUNE_ABOVE = 100
KEEP = 10
PRUNE_AT_ONCE = 5000  # rows per prune, so one after a large import stays a short transaction
WATCHED = (Reader, Card, Student, Room, Course, ClassSession, Phone)
Memo = dict[str, dict[Any, Any]]

_lock = threading.Lock()
_kept: dict[str, Any] = {"stamp": None, "since": 0.0, "memo": None}


def fresh_memo() -> Memo:
    """An empty memo: one dict of key -> value (None: not there) per kind of thing."""
    return defaultdict(dict)


def kept_memo() -> Memo:
    """What earlier batches read, if the stamp is unchanged (and it is not too old); else
    an empty memo that later batches keep. Read the stamp before anything it covers."""
    stamp = _current_stamp()
    with _lock:
        fresh = time.monotonic() - _kept["since"] < MAX_AGE_S
        if stamp != _kept["stamp"] or not fresh:
            _kept.update(stamp=stamp, since=time.monotonic(), memo=fresh_memo())
        return _kept["memo"]  # type: ignore[no-any-return]


def forget_kept() -> None:
    """Drop what this process keeps (the next batch reads everything again)."""
    with _lock:
        _kept.update(stamp=None, since=0.0, memo=None)


def _current_stamp() -> tuple[int, int | None]:
    """How many changes have been committed, as this transaction sees it, and the highest
    id. The count alone settles what other transactions commit; the id also tells apart
    changes rolled back and made again inside the transaction that reads (tests do that
    between examples; MySQL never hands out an id twice)."""
    table = connection.ops.quote_name(ReferenceChange._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) + COALESCE(SUM(pruned), 0), MAX(id) FROM {table}"  # noqa: S608
        )
        count, highest = cursor.fetchone()
    return int(count), highest


def reference_changed(**_: object) -> None:
    """Retire every ingest process's kept reference data (from the current transaction's
    commit on)."""
    ReferenceChange.objects.create()


def prune_changes() -> int:
    """Fold all but the newest KEEP committed rows into one, once the log holds more than
    PRUNE_ABOVE; returns how many rows went. Only committed rows are read and locked (by
    id), so an open staff transaction holds nothing up; a prune running at the same time in
    another worker makes this one wait for it, then skip what it took."""
    with transaction.atomic():
        if ReferenceChange.objects.count() <= PRUNE_ABOVE:
            return 0
        committed = list(
            ReferenceChange.objects.order_by("-id").values_list("id", flat=True)[
                KEEP : KEEP + PRUNE_AT_ONCE
            ]
        )
        taken = list(
            ReferenceChange.objects.select_for_update()
            .filter(id__in=committed)
            .values_list("id", "pruned")
        )
        if not taken:
            return 0
        ReferenceChange.objects.filter(id__in=[pk for pk, _ in taken]).delete()
        ReferenceChange.objects.create(pruned=len(taken) + sum(n for _, n in taken))
    return len(taken)


def connect_signals() -> None:
    for model in WATCHED:
        uid = f"attendance.reference_changed.{model.__name__}"
        post_save.connect(reference_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(reference_changed, sender=model, dispatch_uid=f"{uid}.delete")
