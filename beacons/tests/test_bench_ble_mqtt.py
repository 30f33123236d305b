"""`manage.py bench_ble_ingest --mqtt` at a toy size, against a real private Mosquitto and real
ingest processes: its last line is the machine-readable one issue 17 fixes, every report
published was stored once, its reports became presence, and it leaves nothing behind.
(Speed is what it prints, never asserted.)"""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from attendance.models import Room, Student
from beacons.models import Phone
from devices.models import RawEvent

# The ingest workers are other processes: they see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

LAST_LINE = re.compile(
    r"^reports_per_s=(?P<rate>[0-9.]+) first_hour_ms=(?P<first>[0-9.]+) "
    r"last_hour_ms=(?P<last>[0-9.]+) lag_p99_ms=(?P<p99>[0-9.]+)$"
)


def test_mqtt_mode_prints_its_last_line_and_loses_no_report() -> None:
    out = StringIO()
    call_command(
        "bench_ble_ingest", "--mqtt", "--phones=20", "--seconds=4", "--rate=20",
        "--workers=2", stdout=out,
    )  # fmt: skip
    lines = out.getvalue().strip().splitlines()
    figures = LAST_LINE.match(lines[-1])
    assert figures, lines[-1]
    assert float(figures["rate"]) > 0 and float(figures["p99"]) > 0, lines[-1]
    assert lines[-2] == "lost=0 applied_twice=0 rejected=0", out.getvalue()
    stored = next(line for line in lines if line.startswith("  stored "))
    assert stored.startswith("  stored 80 (lost 0)"), stored
    # The lag ends at presence: the reports' batches made BLE visits.
    visits = int(re.search(r"presence: (\d+) BLE visits", stored)[1])  # type: ignore[index]
    assert visits > 0, stored
    assert "over 80 reports" in out.getvalue()
    # Its phones, students, rooms and events are gone again.
    assert not Phone.objects.filter(phone_id__startswith="ph-blebench").exists()
    assert not Student.objects.filter(number__startswith="BLEMQ").exists()
    assert not Room.objects.filter(code__startswith="BLEMQ-").exists()
    assert not RawEvent.objects.filter(sender__startswith="ph-blebench").exists()
