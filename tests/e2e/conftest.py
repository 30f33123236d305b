"""Browser tests: Debian's Chromium through Playwright, against real processes.

They need Redis (the ingest and Daphne are separate processes, so a change reaches the page
only through a shared channel layer), an MQTT broker and /usr/bin/chromium. In CI
(ZIAS_REQUIRE_SERVICES=1) anything missing is a failure; on a developer's machine a skip with
the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("ZIAS_CHROMIUM", "/usr/bin/chromium")
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def missing(reason: str) -> None:
    if os.environ.get("ZIAS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"ZIAS_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def port_reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), 2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install -r requirements-dev.txt)")
    # Playwright's sync API keeps an asyncio loop in this thread, which Django takes for async
    # code; the test's own ORM calls are plain synchronous code, so they are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def mqtt_url() -> str:
    """The broker the test taps cards through (the machine's Mosquitto unless MQTT_URL says)."""
    url = settings.MQTT_URL or DEFAULT_MQTT_URL
    parts = urlsplit(url)
    if not port_reachable(parts.hostname or "127.0.0.1", parts.port or 1883):
        missing(f"no MQTT broker at {url}")
    return url


@pytest.fixture
def redis_channel_layer() -> str:
    """Separate ingest and Daphne processes reach each other only through Redis."""
    if not settings.REDIS_URL:
        missing(
            "REDIS_URL is unset: the ingest and Daphne run as separate processes, so live "
            "updates need the Redis channel layer"
        )
    return str(settings.REDIS_URL)
