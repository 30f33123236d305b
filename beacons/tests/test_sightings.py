"""Reading a phone's `ble` report into a window of registered beacons."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from beacons.eid import compute_eid
from beacons.sightings import BeaconDirectory

UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
KEY = "00112233445566778899aabbccddeeff"
AT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
NOW = int(AT.timestamp())
OFFSET = -NOW + 500_000


def directory() -> BeaconDirectory:
    rows = [
        SimpleNamespace(pk=1, kind="ibeacon", uuid=UUID, major=2, minor=204),
        SimpleNamespace(
            pk=2, kind="eddystone_eid", eid_key=KEY, eid_exponent=10, eid_counter_offset=OFFSET
        ),
    ]
    return BeaconDirectory.from_beacons(rows)


def eid_at(unix_seconds: int) -> str:
    return compute_eid(bytes.fromhex(KEY), 10, unix_seconds + OFFSET).hex()


def test_ibeacons_and_current_eids_become_sightings() -> None:
    payload = {
        "window_s": 10,
        "beacons": [
            {"uuid": UUID.lower(), "major": 2, "minor": 204, "rssi": -67, "n": 9},
            {"eid": eid_at(NOW), "rssi": -80, "n": 4},
        ],
    }
    read = directory().read(payload, AT)
    assert [(s.beacon_id, s.rssi, s.n) for s in read.window.sightings] == [(1, -67, 9), (2, -80, 4)]
    assert read.window.at == AT and read.window.window_s == 10
    assert [r.status for r in read.eids] == ["current"]


def test_a_stale_eid_gives_no_presence_but_is_reported() -> None:
    payload = {"beacons": [{"eid": eid_at(NOW - 5 * 1024), "rssi": -60, "n": 9}]}
    read = directory().read(payload, AT)
    assert read.window.sightings == ()
    assert [(r.status, r.beacon_id) for r in read.eids] == [("stale", 2)]
    assert read.unregistered == 1


def test_unregistered_and_malformed_entries_are_counted_not_fatal() -> None:
    payload = {
        "beacons": [
            {"uuid": UUID, "major": 3, "minor": 1, "rssi": -70, "n": 2},  # not registered
            {"eid": "0000000000000000", "rssi": -70},  # nobody's EID
            {"eid": "xyz", "rssi": -70},
            {"uuid": UUID, "major": "2", "minor": 204, "rssi": -70},
            {"uuid": UUID, "major": 2, "minor": 204, "rssi": "loud"},
            "junk",
        ]
    }
    read = directory().read(payload, AT)
    assert read.window.sightings == ()
    assert (read.unregistered, read.malformed) == (2, 4)


def test_an_empty_report_is_a_real_empty_window() -> None:
    read = directory().read({"window_s": 10, "beacons": []}, AT)
    assert read.window.sightings == () and read.window.at == AT
