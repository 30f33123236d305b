"""`manage.py bench_ble_ingest --mqtt` at a toy size, against a real private Mosquitto and real
ingest processes: its last line is the machine-readable one issue 17 fixes, every report
published was stored once, its reports became presence, and it leaves nothing behind.
(Speed is what it prints, never asserted.)"""

import re

import pytest

from devices.tests.processes import ProcDatabase

pytestmark = pytest.mark.django_db  # only to learn which database engine is configured

LAST_LINE = re.compile(
    r"^reports_per_s=(?P<rate>[0-9.]+) first_hour_ms=(?P<first>[0-9.]+) "
    r"last_hour_ms=(?P<last>[0-9.]+) lag_p99_ms=(?P<p99>[0-9.]+)$"
)


@pytest.fixture
def procdb(django_db_setup, django_db_blocker):
    """A database the command's ingest processes share with it (the test one may be SQLite
    in memory, which no other process sees)."""
    with django_db_blocker.unblock():
        db = ProcDatabase()
    yield db
    db.close()


def test_mqtt_mode_prints_its_last_line_and_loses_no_report(procdb) -> None:
    out = procdb.manage(
        "bench_ble_ingest", "--mqtt", "--phones=20", "--seconds=4", "--rate=20",
        "--workers=2", MQTT_TOPIC_PREFIX="zt-ble-bench", LOG_LEVEL="WARNING",
    )  # fmt: skip
    lines = out.strip().splitlines()
    figures = LAST_LINE.match(lines[-1])
    assert figures, lines[-1]
    assert float(figures["rate"]) > 0 and float(figures["p99"]) > 0, lines[-1]
    assert lines[-2] == "lost=0 applied_twice=0 rejected=0", out
    stored = next(line for line in lines if line.startswith("  stored "))
    assert stored.startswith("  stored 80 (lost 0)"), stored
    # The lag ends at presence: the reports' batches made BLE visits.
    visits = int(re.search(r"presence: (\d+) BLE visits", stored)[1])  # type: ignore[index]
    assert visits > 0, stored
    assert "over 80 reports" in out
    # Its phones, students, rooms and events are gone again.
    for table in ("beacons_phone", "attendance_student", "attendance_room", "devices_rawevent"):
        assert procdb.scalar(f"SELECT COUNT(*) FROM {table}") == 0, table
