"""Reading a phone's `ble` report into a window of registered beacons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


# -- judged at the server's receipt (DESIGN principle 7) --------------------------------------

WINDOW = timedelta(minutes=15)  # the phone's offline buffer (BLE_OFFLINE_WINDOW_SECONDS)


def eid_report(heard_at: int) -> dict:
    return {"beacons": [{"eid": eid_at(heard_at), "rssi": -60, "n": 9}]}


def test_an_eid_heard_live_and_reported_at_once_is_current_and_on_time() -> None:
    read = directory().read(eid_report(NOW), AT, received_at=AT + timedelta(seconds=2),
                            offline_window=WINDOW)  # fmt: skip
    assert [r.status for r in read.eids] == ["current"]
    assert [s.beacon_id for s in read.window.sightings] == [2]
    assert (read.late, read.received_at) == (False, AT + timedelta(seconds=2))


def test_a_scan_buffered_within_the_offline_window_still_counts() -> None:
    """Heard at AT, uploaded 14 minutes later with its true ts: the EID is a whole rotation
    period (1024 s) old at receipt, still within the window the server allows."""
    read = directory().read(eid_report(NOW), AT, received_at=AT + timedelta(minutes=14),
                            offline_window=WINDOW)  # fmt: skip
    assert [r.status for r in read.eids] == ["current"] and not read.late


def test_an_eid_valid_only_at_an_old_claimed_ts_makes_the_report_late_not_present() -> None:
    """A recording replayed three hours on with its original ts: the ts vouches for the EID,
    the receipt does not. The sighting is kept (it names the room for the flag); the
    report is late, so it places nobody."""
    received = AT + timedelta(hours=3)
    read = directory().read(eid_report(NOW), AT, received_at=received, offline_window=WINDOW)
    assert [(r.status, r.beacon_id) for r in read.eids] == [("late", 2)]
    assert [s.beacon_id for s in read.window.sightings] == [2]
    assert read.late


def test_an_old_eid_under_a_fresh_claimed_ts_is_stale_at_receipt() -> None:
    """The same recording with its ts rewritten to now: older than the offline window at
    receipt and not valid at the claimed ts either."""
    now = AT + timedelta(hours=3)
    read = directory().read(eid_report(NOW), now, received_at=now, offline_window=WINDOW)
    [resolution] = read.eids
    assert (resolution.status, resolution.beacon_id) == ("stale", 2)
    assert resolution.periods_off is not None and resolution.periods_off <= -10  # 3 h / 1024 s
    assert read.window.sightings == () and not read.late


def test_a_fresh_eid_under_a_wrong_claimed_ts_is_current_by_the_server_clock() -> None:
    """The phone's clock is an hour slow: its EID is what the beacon broadcasts now, so the
    receipt vouches for it; the report is still late (its ts is far from the receipt)."""
    received = AT
    read = directory().read(eid_report(NOW), AT - timedelta(hours=1), received_at=received,
                            offline_window=WINDOW)  # fmt: skip
    assert [r.status for r in read.eids] == ["current"]
    assert read.late  # the window would be placed an hour off: evidence, not presence
