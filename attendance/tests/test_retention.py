"""Retention: old BLE reports and rejected messages go, a slice at a time, and never what a
session that is not final yet may still read."""

from datetime import UTC, datetime, timedelta

import pytest

from attendance import retention, services
from attendance.models import AttendanceRecord, ClassSession
from devices.models import QuarantinedMessage, RawEvent, RejectedMessage
from tests.factories import make_course, make_raw_event, make_room, make_session, make_student

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_ids = iter(range(1, 10_000))


def ble_report(ts: datetime, phone: str = "phone-1") -> RawEvent:
    n = next(_ids)
    return RawEvent.objects.create(
        sender_kind="phone",
        sender=phone,
        event_id=f"b-{n}",
        type="ble",
        ts=ts,
        received_at=ts,
        payload={"id": f"b-{n}", "beacons": []},
    )


def rejected(received_at: datetime, reason: str = "payload is not JSON") -> RejectedMessage:
    return RejectedMessage.objects.create(topic="zias/x", reason=reason, received_at=received_at)


def left(rows: list) -> set[int]:
    model = type(rows[0])
    return set(model.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))


def test_reports_past_the_retention_go_and_younger_ones_stay():
    old = ble_report(NOW - timedelta(days=91))
    young = ble_report(NOW - timedelta(days=89))
    tap = make_raw_event("door-1", "t-1", NOW - timedelta(days=200), uid="04A1B2C3")
    purged = retention.purge_expired_slice(NOW)
    assert purged.ble_reports == 1
    assert left([old, young]) == {young.pk}
    assert RawEvent.objects.filter(pk=tap.pk).exists()  # door events are not BLE reports


def test_a_session_not_finalised_keeps_its_days_reports_until_it_is():
    student = make_student()
    course = make_course(students=(student,))
    starts = NOW - timedelta(days=100)
    session = make_session(course, make_room(), starts)
    same_day = ble_report(starts + timedelta(minutes=20))
    early_that_day = ble_report(starts - timedelta(hours=3))  # the day's evidence counts too
    day_before = ble_report(starts - timedelta(days=1))
    retention.purge_expired_slice(NOW)
    assert left([same_day, early_that_day, day_before]) == {same_day.pk, early_that_day.pk}

    ClassSession.objects.filter(pk=session.pk).update(finalised_at=session.ends_at)
    AttendanceRecord.objects.create(session=session, student=student, finalised=False)
    retention.purge_expired_slice(NOW)
    assert left([same_day]) == {same_day.pk}, "a record still open keeps the day's reports"

    AttendanceRecord.objects.update(finalised=True)
    retention.purge_expired_slice(NOW)
    assert not RawEvent.objects.filter(pk__in=[same_day.pk, early_that_day.pk]).exists()


def test_a_cancelled_session_protects_nothing():
    session = make_session(make_course(), make_room(), NOW - timedelta(days=100))
    ClassSession.objects.filter(pk=session.pk).update(cancelled=True)
    report = ble_report(session.starts_at + timedelta(minutes=5))
    retention.purge_expired_slice(NOW)
    assert not RawEvent.objects.filter(pk=report.pk).exists()


def test_rejected_messages_past_their_retention_go_and_the_quarantine_is_not_touched():
    old = rejected(NOW - timedelta(days=31))
    young = rejected(NOW - timedelta(days=29))
    held = QuarantinedMessage.objects.create(
        topic="zias/x", payload=b"{}", received_at=NOW - timedelta(days=400), error="bug"
    )
    assert retention.purge_expired_slice(NOW).rejected == 1
    assert left([old, young]) == {young.pk}
    assert QuarantinedMessage.objects.filter(pk=held.pk).exists()


def test_purging_goes_a_slice_at_a_time(settings):
    settings.RETENTION_SLICE_ROWS = 2
    reports = [ble_report(NOW - timedelta(days=120, minutes=i)) for i in range(5)]
    first = retention.purge_expired_slice(NOW)
    assert first.ble_reports == 2 and first.full
    assert len(left(reports)) == 3
    retention.purge_expired_slice(NOW)
    last = retention.purge_expired_slice(NOW)
    assert last.ble_reports == 1 and not last.full
    assert left(reports) == set()


def test_zero_days_keeps_everything(settings):
    settings.RETENTION_BLE_REPORT_DAYS = 0
    settings.RETENTION_REJECTED_DAYS = 0
    report, message = ble_report(NOW - timedelta(days=3000)), rejected(NOW - timedelta(days=3000))
    assert retention.purge_expired_slice(NOW) == retention.Purged()
    assert left([report]) and left([message])


def test_the_ingest_tick_purges_and_then_waits_a_minute(monkeypatch):
    monkeypatch.setattr(retention, "_next_check", 0.0)
    first = ble_report(NOW - timedelta(days=95))
    services.periodic_tick(NOW)
    assert not RawEvent.objects.filter(pk=first.pk).exists()
    second = ble_report(NOW - timedelta(days=95))
    services.periodic_tick(NOW)  # within the minute: not looked at again yet
    assert RawEvent.objects.filter(pk=second.pk).exists()


def test_the_command_counts_first_then_purges_everything_due(settings, capsys):
    from django.core.management import call_command

    settings.RETENTION_SLICE_ROWS = 2
    now = datetime.now(UTC)
    for i in range(5):
        ble_report(now - timedelta(days=100, minutes=i))
    rejected(now - timedelta(days=40))
    call_command("purge_expired", "--dry-run")
    assert "would delete 5 BLE reports and 1 rejected messages" in capsys.readouterr().out
    assert RawEvent.objects.count() == 5
    call_command("purge_expired")
    assert "done: 5 BLE reports, 1 rejected messages" in capsys.readouterr().out
    assert not RawEvent.objects.exists() and not RejectedMessage.objects.exists()
