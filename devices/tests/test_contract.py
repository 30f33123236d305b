"""Each contract rule, accepted and refused (devices/mqtt/contract.py is pure: no database)."""

import json

import pytest

from devices.mqtt.contract import (
    MAX_PAYLOAD_BYTES,
    ContractError,
    parse_phone_ble,
    parse_reader_events,
    parse_reader_status,
    parse_topic,
    split_reader_events,
)

TS = 1795766462345


def events(doc: object) -> list:
    return parse_reader_events(json.dumps(doc).encode())


def refused(doc: object, fragment: str) -> ContractError:
    with pytest.raises(ContractError) as caught:
        events(doc)
    assert fragment in caught.value.reason
    return caught.value


def tap(**fields: object) -> dict:
    return {"id": "17-1042", "ts": TS, "type": "rfid", "uid": "04A1B2C3D4E5F6", **fields}


def test_contract_examples_are_accepted():
    got = events(
        [
            tap(),
            {"id": "17-1043", "ts": 1795766462900, "type": "rfid", "uid": "04A1B2C3", "dir": "in"},
            {"id": "17-1044", "ts": 1795766461100, "type": "pir", "sensor": "outer", "state": 1},
        ]
    )
    assert [e.id for e in got] == ["17-1042", "17-1043", "17-1044"]
    assert got[1].dir == "in" and got[2].sensor == "outer" and got[2].state == 1


@pytest.mark.parametrize("uid", ["04:a1:b2:c3", "04-A1-B2-C3", "04 a1 b2 c3", "04a1b2c3"])
def test_uid_is_normalised(uid):
    assert events(tap(uid=uid))[0].uid == "04A1B2C3"


@pytest.mark.parametrize("uid", ["04A1B2", "04A1B2C3D4", "ZZA1B2C3", "", 12345678, None])
def test_uid_of_wrong_length_or_not_hex_is_refused(uid):
    refused(tap(uid=uid), "uid")


def test_ts_is_optional_and_integer_milliseconds():
    assert events({k: v for k, v in tap().items() if k != "ts"})[0].ts_ms is None
    assert events(tap())[0].ts_ms == TS


@pytest.mark.parametrize("ts", [True, 1795766462.5, "1795766462345", None, 1795766462, -1])
def test_ts_that_is_not_plausible_epoch_ms_is_refused(ts):
    refused(tap(ts=ts), "ts")


@pytest.mark.parametrize("event_id", ["", "x" * 65, "caf\u00e9", "a\nb", 17, None])
def test_event_id_must_be_1_to_64_printable_ascii(event_id):
    refused(tap(id=event_id), "id must be")


def test_event_id_of_64_printable_characters_is_accepted():
    assert events(tap(id="~" * 64))[0].id == "~" * 64


@pytest.mark.parametrize("direction", ["IN", "up", "", None, 1])
def test_dir_must_be_in_or_out(direction):
    refused(tap(dir=direction), "dir")


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"sensor": "middle", "state": 1}, "sensor"),
        ({"sensor": "inner", "state": 2}, "state"),
        ({"sensor": "inner", "state": True}, "state"),
        ({"sensor": "inner"}, "state"),
        ({"state": 0}, "sensor"),
    ],
)
def test_pir_needs_sensor_outer_or_inner_and_state_0_or_1(fields, fragment):
    refused({"id": "p-1", "type": "pir", **fields}, fragment)


def test_unknown_type_and_non_object_events_are_refused():
    refused(tap(type="nfc"), "type must be")
    refused(["not an object"], "JSON object")
    refused(42, "object or array")


def test_unknown_extra_keys_are_ignored_and_kept_in_raw():
    event = events(tap(firmware_note="hi", device="someone-else"))[0]
    assert event.raw["firmware_note"] == "hi"


def test_arrays_hold_1_to_100_events():
    assert len(events([tap(id=f"e-{i}") for i in range(100)])) == 100
    refused([tap(id=f"e-{i}") for i in range(101)], "at most 100")
    refused([], "at least one")


def test_split_returns_valid_events_and_each_invalid_one_with_its_id():
    parsed = split_reader_events(
        json.dumps([tap(id="ok-1"), tap(id="bad-1", uid="xyz"), {"no": "id"}]).encode()
    )
    assert [e.id for e in parsed.events] == ["ok-1"]
    assert [e.event_id for e in parsed.errors] == ["bad-1", None]
    assert parsed.errors[0].reason.startswith("event [1]:")


def test_payload_limits_encoding_and_json():
    big = json.dumps(tap(pad="x" * MAX_PAYLOAD_BYTES)).encode()
    with pytest.raises(ContractError, match="limit"):
        parse_reader_events(big)
    with pytest.raises(ContractError, match="UTF-8"):
        parse_reader_events(b'{"id": "\xff"}')
    with pytest.raises(ContractError, match="not JSON"):
        parse_reader_events(b"{nope")
    with pytest.raises(ContractError, match="NaN"):
        parse_reader_events(b'{"id": "a", "type": "pir", "sensor": "outer", "state": NaN}')


def ble(**fields: object) -> dict:
    return {
        "id": "a9-311",
        "ts": 1795766470000,
        "window_s": 10,
        "beacons": [
            {
                "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e",
                "major": 2,
                "minor": 204,
                "rssi": -67,
                "n": 9,
            },
            {"eid": "8f1a2b3c4d5e6f70", "rssi": -80, "n": 4},
        ],
        **fields,
    }


def test_ble_report_from_the_contract_is_accepted():
    report = parse_phone_ble(json.dumps(ble()).encode())
    assert report.window_s == 10 and len(report.beacons) == 2
    assert report.beacons[0].major == 2 and report.beacons[1].eid == "8f1a2b3c4d5e6f70"
    assert parse_phone_ble(json.dumps(ble(beacons=[])).encode()).beacons == ()


@pytest.mark.parametrize(
    "beacon",
    [
        {"uuid": "not-a-uuid", "major": 2, "minor": 204, "rssi": -67, "n": 9},
        {
            "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e",
            "major": 70000,
            "minor": 1,
            "rssi": -67,
            "n": 9,
        },
        {
            "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e",
            "major": True,
            "minor": 1,
            "rssi": -67,
            "n": 9,
        },
        {"eid": "8f1a", "rssi": -80, "n": 4},
        {"eid": "8f1a2b3c4d5e6f70", "rssi": 5, "n": 4},
        {"eid": "8f1a2b3c4d5e6f70", "rssi": -80, "n": 0},
        {
            "eid": "8f1a2b3c4d5e6f70",
            "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e",
            "rssi": -80,
            "n": 1,
        },
        {"rssi": -80, "n": 1},
    ],
)
def test_ble_beacon_entries_outside_the_contract_are_refused(beacon):
    with pytest.raises(ContractError, match=r"beacons\[0\]"):
        parse_phone_ble(json.dumps(ble(beacons=[beacon])).encode())


def test_ble_report_needs_window_and_beacons_array():
    for bad in (ble(window_s=0), ble(window_s="10"), ble(beacons=None)):
        with pytest.raises(ContractError):
            parse_phone_ble(json.dumps(bad).encode())
    with pytest.raises(ContractError, match="at most 100"):
        parse_phone_ble(
            json.dumps(
                ble(beacons=[{"eid": "8f1a2b3c4d5e6f70", "rssi": -1, "n": 1}] * 101)
            ).encode()
        )


def test_status_heartbeat_and_last_will():
    status = parse_reader_status(
        b'{"online": true, "fw": "1.0.0", "ip": "10.20.0.31", "rssi": -61, '
        b'"uptime_s": 3600, "queued": 0}'
    )
    assert status.online and status.ip == "10.20.0.31" and status.uptime_s == 3600
    assert parse_reader_status(b'{"online": false}').online is False
    for bad in (
        b'{"online": 1}',
        b'{"online": true, "ip": "10.0.0.300"}',
        b'{"online": true, "queued": -1}',
    ):
        with pytest.raises(ContractError):
            parse_reader_status(bad)


def test_topics():
    assert parse_topic("zias", "zias/devices/door-1/events").kind == "events"
    assert parse_topic("zias", "zias/phones/a9-311/ble").sender == "a9-311"
    for bad in (
        "zias/devices/Door_1/events",
        "other/devices/door-1/events",
        "zias/devices/door-1/ack",
    ):
        with pytest.raises(ContractError):
            parse_topic("zias", bad)
