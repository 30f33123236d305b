"""handle_batch without a broker: storing, duplicates, answers, rejections, reader health."""

import json
from datetime import timedelta

import time_machine
from django.utils import timezone

from beacons.models import Phone
from devices.models import RawEvent, Reader, RejectedMessage
from devices.mqtt.pipeline import IncomingMessage, handle_batch
from devices.mqtt.readers import mark_silent_readers_offline
from devices.tests.conftest import PREFIX, TS, events_message, tap
from tests.factories import make_card, make_reader, make_student


def run(*messages):
    return handle_batch(list(messages), prefix=PREFIX)


def bodies(outcome):
    return [a.body for a in outcome.acks]


def test_new_tap_is_stored_normalised_and_answered_accepted(door):
    outcome = run(events_message("door-1", tap("1-1", uid="04:a1:b2:c3")))
    event = RawEvent.objects.get()
    assert (event.sender_kind, event.sender, event.event_id, event.uid) == (
        "device",
        "door-1",
        "1-1",
        "04A1B2C3",
    )
    assert event.ts_from_sender and int(event.ts.timestamp() * 1000) == TS
    assert bodies(outcome) == [
        {"id": "1-1", "result": "accepted", "dir": "in", "display": "A. Okafor"}
    ]
    assert outcome.acks[0].topic == f"{PREFIX}/devices/door-1/ack"


def test_event_without_ts_takes_the_receive_time(door):
    run(
        events_message(
            "door-1",
            {"id": "p-1", "type": "pir", "sensor": "inner", "state": 0},
            received_at=1_800_000_000.25,
        )
    )
    event = RawEvent.objects.get()
    assert not event.ts_from_sender
    assert event.ts == event.received_at and event.ts.timestamp() == 1_800_000_000.25


def test_redelivered_event_changes_nothing_and_is_answered_duplicate(door):
    run(events_message("door-1", tap("1-1")))
    before = list(RawEvent.objects.values())
    outcome = run(events_message("door-1", tap("1-1", uid="04FFFFFF")))
    assert list(RawEvent.objects.values()) == before
    assert bodies(outcome) == [{"id": "1-1", "result": "duplicate"}]
    assert outcome.stored == 0 and outcome.duplicates == 1


def test_same_event_twice_in_one_batch_is_stored_once(door):
    outcome = run(events_message("door-1", tap("1-1")), events_message("door-1", tap("1-1")))
    assert RawEvent.objects.count() == 1
    assert [b["result"] for b in bodies(outcome)] == ["accepted", "duplicate"]


def test_same_event_id_from_two_readers_is_two_events(door):
    make_reader(door.room, "door-2")
    run(events_message("door-1", tap("1-1")), events_message("door-2", tap("1-1")))
    assert RawEvent.objects.count() == 2


def test_answers_for_unknown_and_revoked_cards_and_repeats(door):
    make_card(make_student(), "04EEEEEE", active=False)
    outcome = run(
        events_message(
            "door-1",
            [
                tap("1-1"),
                tap("1-2", ts=TS + 1000),  # same card within the 5 s debounce
                tap("1-3", uid="04DDDDDD"),
                tap("1-4", uid="04EEEEEE"),
            ],
        )
    )
    assert [b["result"] for b in bodies(outcome)] == [
        "accepted",
        "repeat",
        "unknown_card",
        "revoked_card",
    ]


def test_partly_invalid_array_stores_the_valid_and_rejects_each_invalid(door):
    outcome = run(
        events_message(
            "door-1",
            [
                tap("1-1"),
                tap("1-2", uid="nothex"),
                {"id": "1-3", "type": "pir", "sensor": "outer", "state": 7},
            ],
        )
    )
    assert list(RawEvent.objects.values_list("event_id", flat=True)) == ["1-1"]
    rejected = RejectedMessage.objects.order_by("event_id")
    assert [(r.event_id, r.sender) for r in rejected] == [("1-2", "door-1"), ("1-3", "door-1")]
    assert "uid" in rejected[0].reason and "state" in rejected[1].reason
    answers = bodies(outcome)
    assert answers[0]["result"] == "accepted"
    assert answers[1]["result"] == "invalid" and "uid" in answers[1]["reason"]
    assert len(answers) == 2  # no answer for a motion event


def test_garbage_is_a_rejected_row_with_the_reason_and_no_answer(door):
    outcome = run(events_message("door-1", b"\x00not json"), events_message("door-1", tap("1-1")))
    row = RejectedMessage.objects.get()
    assert row.topic == f"{PREFIX}/devices/door-1/events" and "not JSON" in row.reason
    assert [b["id"] for b in bodies(outcome)] == ["1-1"]


def test_unknown_and_disabled_readers_are_rejected_whole(door):
    make_reader(door.room, "door-off", enabled=False)
    outcome = run(events_message("door-ghost", tap("1-1")), events_message("door-off", tap("1-2")))
    assert RawEvent.objects.count() == 0 and outcome.acks == []
    reasons = sorted(RejectedMessage.objects.values_list("reason", flat=True))
    assert reasons == ["device 'door-off' is disabled", "unknown device 'door-ghost'"]


def test_topics_outside_the_contract_are_rejected(door):
    run(
        IncomingMessage(f"{PREFIX}/devices/door-1/whatever", b"{}"),
        IncomingMessage(f"{PREFIX}/devices/DOOR!/events", b"{}"),
    )
    assert RejectedMessage.objects.count() == 2


def test_oversized_message_is_rejected_and_kept_cut_to_64_kib(door):
    run(events_message("door-1", b"[" + b" " * 70_000 + b"]"))
    row = RejectedMessage.objects.get()
    assert "limit" in row.reason and len(row.payload) == 64 * 1024


def test_reader_status_updates_health(door):
    with time_machine.travel("2026-11-27 08:00:00Z", tick=False):
        run(
            IncomingMessage(
                f"{PREFIX}/devices/door-1/status",
                json.dumps(
                    {
                        "online": True,
                        "fw": "1.2.0",
                        "ip": "10.20.0.31",
                        "rssi": -61,
                        "uptime_s": 3600,
                        "queued": 4,
                    }
                ).encode(),
            )
        )
    reader = Reader.objects.get(device_id="door-1")
    assert reader.online and reader.firmware == "1.2.0" and reader.ip == "10.20.0.31"
    assert (reader.wifi_rssi, reader.uptime_s, reader.queued) == (-61, 3600, 4)
    assert reader.last_seen is not None
    assert reader.last_seen.isoformat() == "2026-11-27T08:00:00+00:00"
    run(IncomingMessage(f"{PREFIX}/devices/door-1/status", b'{"online": false}', retain=True))
    reader.refresh_from_db()
    assert not reader.online and reader.firmware == "1.2.0"
    assert (
        reader.last_seen.isoformat() == "2026-11-27T08:00:00+00:00"
    )  # a retained will is old news


def test_reader_silent_for_three_heartbeats_goes_offline(door):
    now = timezone.now()
    Reader.objects.filter(pk=door.pk).update(
        online=True, heartbeat_s=60, last_seen=now - timedelta(seconds=179)
    )
    assert mark_silent_readers_offline(now) == []
    assert mark_silent_readers_offline(now + timedelta(seconds=2)) == ["door-1"]
    assert not Reader.objects.get(pk=door.pk).online


def test_events_mark_the_reader_seen(door):
    run(events_message("door-1", tap("1-1")))
    reader = Reader.objects.get(pk=door.pk)
    assert reader.online and reader.last_seen is not None


def test_phone_ble_report_is_stored_and_unknown_phone_rejected(door):
    student = make_student()
    Phone.objects.create(phone_id="a9-311", student=student)
    Phone.objects.create(phone_id="old-phone", student=make_student(), active=False)
    report = {
        "id": "w-1",
        "ts": TS,
        "window_s": 10,
        "beacons": [{"eid": "8f1a2b3c4d5e6f70", "rssi": -80, "n": 4}],
    }
    run(
        IncomingMessage(f"{PREFIX}/phones/a9-311/ble", json.dumps(report).encode()),
        IncomingMessage(f"{PREFIX}/phones/nobody-1/ble", json.dumps(report).encode()),
        IncomingMessage(f"{PREFIX}/phones/old-phone/ble", json.dumps(report).encode()),
    )
    event = RawEvent.objects.get()
    assert (event.sender_kind, event.type, event.sender) == ("phone", "ble", "a9-311")
    assert sorted(RejectedMessage.objects.values_list("reason", flat=True)) == [
        "phone 'old-phone' is not active",
        "unknown phone 'nobody-1'",
    ]


def test_unicode_in_extra_keys_is_stored_and_lone_surrogates_rejected(door):
    ok = (
        b'{"id": "u-1", "type": "pir", "sensor": "outer", "state": 1, '
        b'"note": "\xc3\xa9 \\u0000 \\ud83d\\ude00"}'
    )
    lone = b'{"id": "u-2", "type": "pir", "sensor": "outer", "state": 1, "note": "\\ud800"}'
    run(events_message("door-1", ok), events_message("door-1", lone))
    assert RawEvent.objects.get().event_id == "u-1"
    assert "surrogate" in RejectedMessage.objects.get().reason


def test_a_busy_reader_is_marked_seen_once_in_a_while_not_by_every_batch(door, monkeypatch):
    from devices.mqtt import readers

    clock = [1000.0]
    monkeypatch.setattr(readers, "_clock", lambda: clock[0])
    first = timezone.now()
    readers.mark_readers_seen({"door-1"}, first)
    clock[0] += readers.SEEN_EVERY_S / 2
    readers.mark_readers_seen({"door-1"}, first + timedelta(seconds=1))
    assert Reader.objects.get().last_seen == first  # marked a moment ago: no write
    clock[0] += readers.SEEN_EVERY_S
    readers.mark_readers_seen({"door-1"}, first + timedelta(seconds=9))
    assert Reader.objects.get().last_seen == first + timedelta(seconds=9)


def test_a_late_tap_leaves_a_rejudge_request_with_its_batch(door):
    from attendance.models import RejudgeRequest

    run(events_message("door-1", tap("late-1")))  # TS is long past
    request = RejudgeRequest.objects.get()
    assert request.reader == "door-1"
    assert request.lo < RawEvent.objects.get().ts < request.hi
    run(events_message("door-1", tap("now-1", ts=int(timezone.now().timestamp() * 1000))))
    assert RejudgeRequest.objects.count() == 1  # a live tap leaves it to the pass


def test_event_ids_differing_only_in_case_or_trailing_space_are_different_events(door):
    outcome = run(
        events_message(
            "door-1",
            [
                {"id": "17-a", "type": "pir", "sensor": "inner", "state": 1},
                {"id": "17-A", "type": "pir", "sensor": "inner", "state": 1},
                {"id": "x", "type": "pir", "sensor": "inner", "state": 0},
                {"id": "x ", "type": "pir", "sensor": "inner", "state": 0},
            ],
        )
    )
    assert outcome.stored == 4 and outcome.duplicates == 0
    assert sorted(RawEvent.objects.values_list("event_id", flat=True)) == [
        "17-A",
        "17-a",
        "x",
        "x ",
    ]
    again = run(
        events_message("door-1", {"id": "17-A", "type": "pir", "sensor": "inner", "state": 1})
    )
    assert again.stored == 0 and again.duplicates == 1
