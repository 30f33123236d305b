"""Across languages: every message the reader firmware's core would publish passes the
backend's contract validator, including a replayed backlog of 250 events."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from devices.mqtt.contract import parse_reader_events, parse_reader_status

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def firmware_messages(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    assert shutil.which("g++") and shutil.which("make"), (
        "the firmware contract test needs g++ and make"
    )
    out = tmp_path_factory.mktemp("firmware") / "messages.jsonl"
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "firmware"), "contract", f"OUT={out}"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def _events_messages(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["topic"].endswith("/events")]


def test_every_events_message_is_accepted(firmware_messages: list[dict]) -> None:
    events = _events_messages(firmware_messages)
    assert events, "the scenario published no events"
    for message in events:
        assert message["topic"].startswith("zias/devices/")
        parsed = parse_reader_events(message["payload"].encode())
        assert parsed, message


def test_every_status_message_is_accepted(firmware_messages: list[dict]) -> None:
    statuses = [m for m in firmware_messages if m["topic"].endswith("/status")]
    assert statuses
    for message in statuses:
        parse_reader_status(message["payload"].encode())
        assert message["retained"] is True


def test_the_offline_backlog_replays_as_arrays_of_at_most_100(
    firmware_messages: list[dict],
) -> None:
    arrays = [json.loads(m["payload"]) for m in _events_messages(firmware_messages)]
    arrays = [a for a in arrays if isinstance(a, list)]
    assert len(arrays) >= 3
    assert all(1 <= len(a) <= 100 for a in arrays)
    assert sum(len(a) for a in arrays) >= 250
    ids = [e["id"] for a in arrays for e in a]
    assert len(ids) == len(set(ids)), "a replayed event id repeats"


def test_taps_carry_a_direction_only_when_the_reader_knows_it(
    firmware_messages: list[dict],
) -> None:
    events = [
        e
        for m in _events_messages(firmware_messages)
        for e in parse_reader_events(m["payload"].encode())
        if e.type == "rfid"
    ]
    directions = {e.dir for e in events}
    assert {"in", "out", None} <= directions
