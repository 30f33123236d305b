"""A correction and an engine batch on the same student wait for each other (the one lock
order), so neither can read the record before the other and write it back after."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from attendance import services
from attendance.engine import records as engine_records
from attendance.models import AttendanceRecord, AuditEntry, ClassSession, RecordRevision, Student
from attendance.tests.db_scenario import apply_batch, build_timetable, build_world
from attendance.tests.scenario import CARDS, Scenario, SessionSpec, at
from tests.factories import make_raw_event, make_student, make_user

SCIENCE = Scenario(
    "science", [SessionSpec("SCI", "B-210", "09:00", "10:00", students=("S1001",))], [], {}
)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    if connection.vendor != "mysql":
        pytest.skip("SQLite has one writer: transactions never overlap")
    build_world()
    build_timetable(SCIENCE)
    return (
        ClassSession.objects.get(),
        Student.objects.get(number="S1001"),
        make_user("reg", staff=True),
    )


def _tap(event_id: str, clock: str):  # type: ignore[no-untyped-def]
    return make_raw_event("pir-b210", event_id, at(clock), "rfid", uid=CARDS["S1001"], save=False)


def correction_in_thread(session, student, user, hold: threading.Event | None = None):  # type: ignore[no-untyped-def]
    done = threading.Event()

    def run() -> None:
        try:
            with transaction.atomic():
                services.correct_attendance(session, student, "excused", user, "doctor's note")
                done.set()
                if hold is not None:
                    assert hold.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done


def test_a_correction_waits_for_a_batch_between_its_read_and_its_write(world, monkeypatch) -> None:
    """The window the lock closes: a batch has read the record (not manual) and not yet
    written it back. A correction committed in that window would be overwritten."""
    session, student, user = world
    apply_batch([_tap("t1", "09:00:02")])  # the record exists: present, by the evidence
    read, release = threading.Event(), threading.Event()
    real = engine_records.compute_record

    def pause_after_reading(*args, **kwargs):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "batch":
            read.set()
            assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_records, "compute_record", pause_after_reading)
    errors: list[BaseException] = []
    batch = threading.Thread(
        target=_in_transaction, args=([_tap("t2", "09:00:30")], errors), name="batch"
    )
    batch.start()
    assert read.wait(10)
    correcting, corrected = correction_in_thread(session, student, user)
    try:
        assert not corrected.wait(1), "the correction got in between the batch's read and write"
    finally:
        release.set()
        batch.join(10)
        correcting.join(10)
    assert errors == []
    record = AttendanceRecord.objects.get(session=session, student=student)
    assert (record.status, record.manual) == ("excused", True)
    revisions = sorted(
        RecordRevision.objects.filter(record=record).values_list("revision", flat=True)
    )
    assert revisions == list(range(record.revision))


def _in_transaction(events, errors: list[BaseException]) -> None:  # type: ignore[no-untyped-def]
    try:
        apply_batch(events)
    except BaseException as exc:  # the test reads it: a batch must not fail here
        errors.append(exc)
    finally:
        connection.close()


def test_a_batch_waits_for_a_correction_and_leaves_its_status(world) -> None:
    session, student, user = world
    release = threading.Event()
    correcting, corrected = correction_in_thread(session, student, user, hold=release)
    assert corrected.wait(10)
    errors: list[BaseException] = []
    batch = threading.Thread(target=_in_transaction, args=([_tap("t1", "09:00:02")], errors))
    batch.start()
    try:
        batch.join(1)
        assert batch.is_alive(), "the batch read the student while a correction held it"
    finally:
        release.set()
        correcting.join(10)
        batch.join(10)
    assert errors == []  # it waited for the student, then found the record: no key race
    record = AttendanceRecord.objects.get(session=session, student=student)
    assert (record.status, record.manual, record.computed_status) == ("excused", True, "present")
    assert AuditEntry.objects.filter(record=record).count() == 1
    revisions = sorted(
        RecordRevision.objects.filter(record=record).values_list("revision", flat=True)
    )
    assert revisions == list(range(record.revision))


def test_a_student_another_writer_holds_is_skipped_not_waited_for(world) -> None:
    """lock_free_students: for a writer that learns of a student after taking its locks."""
    from attendance.engine.locks import lock_free_students, lock_students

    _, student, _ = world
    other = make_student("S9999")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                lock_students([other.pk])
                locked.set()
                assert release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    try:
        with transaction.atomic():
            lock_students([student.pk])
            assert lock_free_students([student.pk, other.pk]) == {student.pk}
    finally:
        release.set()
        thread.join(10)
    with transaction.atomic():
        assert lock_free_students([student.pk, other.pk]) == {student.pk, other.pk}
