"""Failures sorted by what fixes them: a unique-key race is run again, a bug is quarantined
whole and re-run by staff once fixed; neither is rejected input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.utils import timezone

from attendance.models import AttendanceRecord, Student
from attendance.services import ingest as ingest_service
from devices.models import QuarantinedMessage, QuarantineState, RawEvent, RejectedMessage
from devices.mqtt import committing
from devices.tests.conftest import PREFIX, events_message, tap
from tests.factories import make_course, make_session, make_user


def _running_session(door):
    student = Student.objects.get()
    course = make_course(students=(student,))
    return make_session(course, door.room, timezone.now() - timedelta(minutes=5)), student


def _now_tap(event_id: str) -> dict:
    return tap(event_id, ts=int(timezone.now().timestamp() * 1000))


@pytest.mark.django_db(transaction=True)
def test_a_unique_key_race_on_a_new_record_is_run_again_not_quarantined(door, monkeypatch):
    """The batch's insert of a new record meets a row with the same key that appeared after
    its read (here put there just before the insert): MariaDB refuses it, the batch rolls
    back and runs again, and the second run finds the record and updates it."""
    session, student = _running_session(door)
    manager = type(AttendanceRecord.objects)
    real_bulk_create = manager.bulk_create
    runs: list[str] = []

    def bulk_create_after_a_rival(self, objs, *args, **kwargs):
        objs = list(objs)
        if objs and not runs:
            runs.append("raced")
            AttendanceRecord.objects.create(
                session=session, session_starts_at=session.starts_at, student=student
            )
        return real_bulk_create(self, objs, *args, **kwargs)

    monkeypatch.setattr(manager, "bulk_create", bulk_create_after_a_rival)
    real_handle = committing.handle_batch
    attempts: list[int] = []

    def counted(messages, prefix):  # type: ignore[no-untyped-def]
        attempts.append(1)
        return real_handle(messages, prefix=prefix)

    monkeypatch.setattr(committing, "handle_batch", counted)
    outcome = committing.commit_batch([events_message("door-1", _now_tap("r1"))], PREFIX)
    assert runs == ["raced"] and len(attempts) == 2  # refused once, then run again
    assert outcome.stored == 1 and outcome.quarantined == 0
    assert [a.body["result"] for a in outcome.acks] == ["accepted"]
    assert RawEvent.objects.filter(event_id="r1").count() == 1
    record = AttendanceRecord.objects.get(session=session, student=student)
    assert record.status == "present" and record.first_seen is not None
    assert not QuarantinedMessage.objects.exists() and not RejectedMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_quarantined_message_is_rerun_by_the_admin_action_and_stored(door, monkeypatch, settings):
    settings.MQTT_TOPIC_PREFIX = PREFIX
    real = ingest_service.apply_new_events
    broken = [True]

    def buggy(events):
        if broken[0]:
            raise KeyError("a bug in the engine")
        return real(events)

    monkeypatch.setattr(ingest_service, "apply_new_events", buggy)
    message = events_message("door-1", [_now_tap("q1"), _now_tap("q2")])
    outcome = committing.commit_batch([message], PREFIX)
    assert outcome.quarantined == 1 and outcome.stored == 0
    assert [(a.body["id"], a.body["reason"]) for a in outcome.acks] == [
        ("q1", "server_error"), ("q2", "server_error"),
    ]  # fmt: skip
    kept = QuarantinedMessage.objects.get()
    assert bytes(kept.payload) == message.payload and "a bug in the engine" in kept.error
    assert not RawEvent.objects.exists() and not RejectedMessage.objects.exists()

    admin = QuarantinedMessageAdminRunner()
    admin.run()  # still broken: stays waiting, with the new error
    kept.refresh_from_db()
    assert kept.state == QuarantineState.WAITING and kept.attempts == 2

    broken[0] = False  # the bug is fixed
    admin.run()
    kept.refresh_from_db()
    assert kept.state == QuarantineState.STORED and "stored 2 events" in kept.outcome
    stored = RawEvent.objects.order_by("event_id")
    assert [e.event_id for e in stored] == ["q1", "q2"]
    # The events keep the time they first arrived, not the time of the re-run.
    assert all(e.received_at == kept.received_at for e in stored)
    admin.run()  # a second re-run changes nothing
    assert RawEvent.objects.count() == 2


class QuarantinedMessageAdminRunner:
    """The admin's action as a staff member would run it from the list."""

    def __init__(self) -> None:
        self.model_admin = site._registry[QuarantinedMessage]
        self.staff = make_user("registrar", staff=True)

    def run(self) -> None:
        request = RequestFactory().post("/admin/devices/quarantinedmessage/")
        request.user = self.staff  # type: ignore[assignment]
        request._messages = _Messages()  # type: ignore[attr-defined]
        self.model_admin.rerun(request, QuarantinedMessage.objects.all())  # type: ignore[attr-defined]


class _Messages(list):
    def add(self, level, message, extra_tags=""):  # type: ignore[no-untyped-def]
        self.append(message)


def test_quarantine_answers_each_tap_of_a_reader_message():
    body = json.dumps([_now_tap("a"), {"id": "m", "type": "pir"}, _now_tap("b")]).encode()
    assert committing._tap_ids(body) == ["a", "b"]
    assert committing._reader_of(f"{PREFIX}/devices/door-1/events", PREFIX) == "door-1"
    assert committing._reader_of(f"{PREFIX}/phones/p-1/ble", PREFIX) is None
