"""Suite-wide setup: in CI the real services must be there, or the run fails at once."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ).close()
    except OSError:
        return False
    return True


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("ZIAS_REQUIRE_SERVICES") != "1":
        return
    problems = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.mysql":
        problems.append("DATABASE_URL must point at MariaDB/MySQL")
    if not settings.REDIS_URL or not _reachable(settings.REDIS_URL, 6379):
        problems.append(f"Redis unreachable at REDIS_URL={settings.REDIS_URL!r}")
    if not settings.MQTT_URL or not _reachable(settings.MQTT_URL, 1883):
        problems.append(f"MQTT broker unreachable at MQTT_URL={settings.MQTT_URL!r}")
    if problems:
        pytest.exit("ZIAS_REQUIRE_SERVICES=1 but: " + "; ".join(problems), returncode=3)


@pytest.fixture(autouse=True)
def _forget_process_memory() -> None:
    """What an ingest process remembers between batches (readers it marked seen, the
    reference data it keeps) belongs to one test: another test's database has other rows
    under the same names, and on SQLite even the same reference stamp."""
    from attendance.engine import reference
    from attendance.engine.ble.clones import clone_store
    from devices.mqtt import readers

    readers._marked_at.clear()
    reference.forget_kept()
    clone_store().clear()  # recent windows another test's phones sent
