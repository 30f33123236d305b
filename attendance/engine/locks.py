"""The one lock order every writer of visits, records and flags takes, first thing in its
transaction: PIR doors (readers, by primary key), then students (by id), then the rows it
reads to write. Taking them in one order everywhere means two writers wait for each other
instead of deadlocking, and whoever holds a student reads what the previous holder
committed (READ COMMITTED, the isolation the settings choose for MySQL and MariaDB).
"""

from __future__ import annotations

from collections.abc import Iterable

from attendance.models import Student
from devices.models import Reader


def lock_pir_readers(device_ids: Iterable[str]) -> None:
    """Lock these PIR readers' rows until the transaction ends, in primary key order (the
    order a scan of the table takes them). Call before reading the motion at their doors,
    and before locking students.

    A tap's direction at a PIR door comes from the motion around it, which any batch may
    store. Two batches in flight at once cannot see each other's events, so motion split
    across them could turn a tap that neither batch's own motion turns, and a tap one of
    them stores would be read without the other's motion. Holding the door makes the
    second batch read after the first has committed (under READ COMMITTED, the isolation
    the settings choose for MySQL and MariaDB, a read sees what committed before it)."""
    if device_ids := set(device_ids):
        list(
            Reader.objects.select_for_update()
            .filter(device_id__in=device_ids)
            .order_by("id")
            .values_list("id")
        )


def lock_students(student_ids: Iterable[int]) -> None:
    """Lock these students' rows until the transaction ends, in id order (every worker
    locks in the same order). Whoever rewrites a student's visits or records holds it;
    reads after it see what the previous holder committed (READ COMMITTED)."""
    list(
        Student.objects.select_for_update()
        .filter(id__in=set(student_ids))
        .order_by("id")
        .values_list("id")
    )


def lock_free_students(student_ids: Iterable[int]) -> set[int]:
    """Of these students, those this transaction holds or could lock at once; never waits.
    For a writer that learns of a student only after taking its locks (a cloned report's
    partner phone): waiting there, out of order, could deadlock with a writer holding that
    student and waiting for one of ours. Rows this transaction already holds are returned
    (SKIP LOCKED skips only other transactions' locks)."""
    if not (student_ids := set(student_ids)):
        return set()
    return set(
        Student.objects.select_for_update(skip_locked=True)
        .filter(id__in=student_ids)
        .order_by("id")
        .values_list("id", flat=True)
    )
