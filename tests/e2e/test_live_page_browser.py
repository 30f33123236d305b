"""The must-show: a teacher's live room page updates by itself when a card is tapped.

Everything is real: the login form, Daphne serving zias.asgi, `manage.py ingest` reading the
machine's Mosquitto, Redis carrying `room.changed` from the ingest process to Daphne's, and
Chromium rendering the page. A tap published over MQTT must turn the student's roster badge to
Present within 2 seconds, without a reload.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from django.utils import timezone

from tests.e2e.servers import (
    BASE_DIR,
    Service,
    SharedDatabase,
    daphne,
    free_port,
    ingest,
    port_open,
    service_env,
    wait_until,
)
from tests.factories import (
    make_card,
    make_course,
    make_reader,
    make_room,
    make_session,
    make_student,
    make_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = BASE_DIR / "artifacts" / "e2e"
PASSWORD = "pw-for-browser-tests-1"
LIVE_WITHIN_MS = 2000
SCHOOL_ZONE = "Asia/Tokyo"
PROJECTOR = {"width": 1920, "height": 1080}
TABLET = {"width": 768, "height": 1024}


@dataclass
class School:
    run: str
    room: str
    device: str
    teacher: str
    students: dict[str, tuple[str, str]]  # first name -> (number, card uid)
    starts_at: datetime


def seed_school(run: str) -> School:
    """One room with a reader, a running session, its teacher and three enrolled students."""
    room = make_room(f"E2E-{run}", name="Biology lab")
    reader = make_reader(room, f"e2e-door-{run}", mode="entry")
    teacher = make_user(f"tess-{run}", password=PASSWORD)
    students = {}
    for n, (first, last) in enumerate((("Ada", "Okafor"), ("Ben", "Ruiz"), ("Cy", "Tanaka"))):
        student = make_student(f"E{run}{n}", first_name=first, last_name=last)
        uid = f"0{n + 4}{run}".upper()
        make_card(student, uid)
        students[first] = (student.number, uid)
    from attendance.models import Student

    course = make_course(
        f"BIO-{run}",
        name="Biology",
        teachers=(teacher,),
        students=tuple(Student.objects.filter(number__startswith=f"E{run}")),
    )
    session = make_session(course, room, timezone.now() - timedelta(minutes=1), minutes=90)
    return School(
        run, room.code, reader.device_id, teacher.get_username(), students, session.starts_at
    )


@dataclass
class Stack:
    url: str
    db: SharedDatabase
    daphne: Service
    ingest: Service
    port: int

    def stop_daphne(self) -> None:
        self.daphne.stop()
        assert wait_until(lambda: not port_open(self.port), 10)

    def start_daphne(self) -> None:
        self.daphne.start()
        assert wait_until(lambda: port_open(self.port), 30), self.daphne.output()


@pytest.fixture
def school() -> School:
    return seed_school(uuid.uuid4().hex[:6])


def wait_for_ingest(db: SharedDatabase, loop: Service, client_id: str) -> None:
    """The ingest records itself on its first tick, right after subscribing."""
    ready = wait_until(
        lambda: not loop.running
        or db.scalar("SELECT COUNT(*) FROM devices_ingestworker WHERE name = %s", (client_id,)) > 0,
        60,
    )
    assert ready and loop.running, loop.output()
    time.sleep(0.3)  # the SUBACK: a fresh session gets only later messages


@pytest.fixture
def stack(school: School, mqtt_url: str, redis_channel_layer: str) -> Iterator[Stack]:
    db = SharedDatabase()
    db.publish_seed()
    port = free_port()
    env = service_env(
        db,
        MQTT_URL=mqtt_url,
        MQTT_TOPIC_PREFIX=f"zias-e2e-{school.run}",
        CHANNEL_PREFIX=f"zias-e2e-{school.run}",
        # Not the test's own zone: the page must show the server's school zone, not UTC.
        TIME_ZONE=SCHOOL_ZONE,
    )
    client_id = f"zias-e2e-ingest-{school.run}"
    web, loop = daphne(env, port).start(), ingest(env, client_id).start()
    try:
        wait_for_ingest(db, loop, client_id)
        assert wait_until(lambda: port_open(port) or not web.running, 60), web.output()
        assert web.running, web.output()
        yield Stack(f"http://127.0.0.1:{port}", db, web, loop, port)
    finally:
        web.stop()
        loop.stop()
        print(web.output(), loop.output())  # shown by pytest only when the test fails


def tap(mqtt_url: str, school: School, first_name: str, event_id: str) -> float:
    """A card tapped on the room's reader: the reader's own publish, QoS 1.

    Returns the monotonic time of the publish (after the connection is up, so a test's
    latency figure is the system's, not this helper's CONNACK wait)."""
    parts = urlsplit(mqtt_url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"e2e-reader-{school.run}-{event_id}"
    )
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    try:
        assert wait_until(client.is_connected, 5, 0.01), "the reader could not connect"
        _, uid = school.students[first_name]
        body = {"id": event_id, "ts": int(time.time() * 1000), "type": "rfid", "uid": uid}
        published = time.monotonic()
        info = client.publish(
            f"zias-e2e-{school.run}/devices/{school.device}/events", json.dumps(body), qos=1
        )
        info.wait_for_publish(5)
        assert info.is_published()
        return published
    finally:
        client.loop_stop()
        client.disconnect()


def log_in(browser: Any, stack: Stack, school: School, viewport: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{stack.url}/accounts/login/?next=/rooms/{school.room}/")
    page.get_by_label("Username").fill(school.teacher)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{stack.url}/rooms/{school.room}/")
    return page


def badge(page: Any, school: School, first_name: str):  # type: ignore[no-untyped-def]
    number, _ = school.students[first_name]
    return page.locator(f'#roster tr[data-student="{number}"] .status')


def test_a_tap_shows_the_student_present_without_a_reload(
    browser: Any, stack: Stack, school: School, mqtt_url: str
) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, stack, school)
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(badge(page, school, "Ada")).to_have_attribute("data-status", "not_arrived")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("window.__noReload = true")

    tapped = tap(mqtt_url, school, "Ada", f"{school.run}-1")

    expect(badge(page, school, "Ada")).to_have_attribute(
        "data-status", "present", timeout=LIVE_WITHIN_MS
    )
    print(f"tap to Present on the page: {time.monotonic() - tapped:.3f} s")
    expect(badge(page, school, "Ada")).to_have_text("Present")
    expect(page.locator("#count")).to_have_text("1")
    assert navigations == [] and page.evaluate("window.__noReload") is True
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live-room.png"), full_page=True)

    # Reconnect: Ben taps in while Daphne is down; the page comes back by itself and its
    # fresh snapshot shows Ben, whose change it never received as a message.
    stack.stop_daphne()
    expect(page.locator("#live")).to_have_attribute("data-state", "offline", timeout=5000)
    tap(mqtt_url, school, "Ben", f"{school.run}-2")
    ben = school.students["Ben"][0]
    assert wait_until(
        lambda: stack.db.scalar(
            "SELECT COUNT(*) FROM attendance_visit v JOIN attendance_student s "
            "ON s.id = v.student_id WHERE s.number = %s",
            (ben,),
        )
        > 0,
        10,
    ), stack.ingest.output()
    expect(badge(page, school, "Ben")).to_have_attribute("data-status", "not_arrived")
    stack.start_daphne()
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=15_000)
    expect(badge(page, school, "Ben")).to_have_attribute("data-status", "present", timeout=5000)
    expect(page.locator("#count")).to_have_text("2")
    assert navigations == [], "the page reloaded instead of reconnecting"
    page.context.close()


def test_a_correction_from_one_page_updates_another_and_is_audited(
    browser: Any, stack: Stack, school: School
) -> None:
    """The projector page corrects Cy with a reason; the tablet page sees it without a reload."""
    from playwright.sync_api import expect

    projector = log_in(browser, stack, school, PROJECTOR)
    tablet = log_in(browser, stack, school, TABLET)
    for page in (projector, tablet):
        expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=10_000)
    local_start = school.starts_at.astimezone(ZoneInfo(SCHOOL_ZONE)).strftime("%H:%M")
    expect(projector.locator("#session-line")).to_contain_text(local_start)
    tablet_navigations: list[str] = []
    tablet.on("framenavigated", lambda frame: tablet_navigations.append(frame.url))

    cy = school.students["Cy"][0]
    row = projector.locator(f'#roster tr[data-student="{cy}"]')
    row.get_by_text("Correct").click()
    row.get_by_label("New status").select_option("excused")
    row.get_by_label("Reason").fill("Doctor's note seen by the office")
    with projector.expect_navigation():
        row.get_by_role("button", name="Save").click()

    expect(projector.locator(".messages")).to_contain_text("Cy Tanaka: marked excused")
    expect(badge(projector, school, "Cy")).to_have_attribute("data-status", "excused")
    expect(badge(tablet, school, "Cy")).to_have_attribute(
        "data-status", "excused", timeout=LIVE_WITHIN_MS
    )
    expect(badge(tablet, school, "Cy")).to_have_text("Excused")
    assert tablet_navigations == [], "the other page reloaded instead of updating live"
    audited = stack.db.scalar(
        "SELECT COUNT(*) FROM attendance_auditentry a "
        "JOIN attendance_attendancerecord r ON r.id = a.record_id "
        "JOIN attendance_student s ON s.id = r.student_id "
        "WHERE s.number = %s AND a.new_status = 'excused' AND a.reason = %s",
        (cy, "Doctor's note seen by the office"),
    )
    assert audited == 1

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    projector.screenshot(path=str(ARTIFACTS / "live-room-projector.png"))
    tablet.screenshot(path=str(ARTIFACTS / "live-room-tablet.png"), full_page=True)
    projector.context.close()
    tablet.context.close()


def test_serve_gives_live_updates_without_redis_and_stops_on_sigterm(
    browser: Any, school: School, mqtt_url: str
) -> None:
    """The zero-setup shape: `manage.py serve` runs Daphne and the ingest in one process, so
    the in-memory channel layer carries the change to the page."""
    from playwright.sync_api import expect

    db = SharedDatabase()
    db.publish_seed()
    port = free_port()
    client_id = f"zias-e2e-serve-{school.run}"
    env = service_env(
        db,
        MQTT_URL=mqtt_url,
        MQTT_TOPIC_PREFIX=f"zias-e2e-{school.run}",
        MQTT_CLIENT_ID=client_id,
        TIME_ZONE=SCHOOL_ZONE,
    )
    env.pop("REDIS_URL", None)  # the in-memory channel layer
    argv = [sys.executable, "manage.py", "serve", "--port", str(port)]
    server = Service("serve", argv, env).start()
    try:
        wait_for_ingest(db, server, client_id)
        assert wait_until(lambda: port_open(port) or not server.running, 60), server.output()
        page = log_in(browser, Stack(f"http://127.0.0.1:{port}", db, server, server, port), school)
        expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=10_000)
        tap(mqtt_url, school, "Ada", f"{school.run}-s1")
        expect(badge(page, school, "Ada")).to_have_attribute(
            "data-status", "present", timeout=LIVE_WITHIN_MS
        )
        page.context.close()
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(20) == 0, server.output()
        assert "Stopped." in server.output()
    finally:
        server.stop()
        print(server.output())


BEACON_UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"


@pytest.fixture
def ada_has_a_phone(school: School) -> str:
    """An iBeacon in the room and Ada's phone (seeded before the stack starts)."""
    from attendance.models import Room, Student
    from beacons.models import Beacon, Phone

    Beacon.objects.create(
        kind="ibeacon", room=Room.objects.get(code=school.room), uuid=BEACON_UUID, major=7,
        minor=1,
    )  # fmt: skip
    phone_id = f"e2e-phone-{school.run}"
    Phone.objects.create(
        phone_id=phone_id, student=Student.objects.get(number=school.students["Ada"][0])
    )
    return phone_id


def phone_reports(mqtt_url: str, school: School, phone_id: str, windows: int) -> None:
    """The phone's app: one report per 10 s scan window, the last ending now, QoS 1."""
    parts = urlsplit(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"e2e-{phone_id}")
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    try:
        assert wait_until(client.is_connected, 5, 0.01), "the phone could not connect"
        now_ms = int(time.time() * 1000)
        for i in range(windows):
            body = {"id": f"{school.run}-b{i}", "ts": now_ms - 10_000 * (windows - 1 - i),
                    "window_s": 10, "beacons": [{"uuid": BEACON_UUID, "major": 7, "minor": 1,
                                                 "rssi": -58, "n": 9}]}  # fmt: skip
            info = client.publish(
                f"zias-e2e-{school.run}/phones/{phone_id}/ble", json.dumps(body), qos=1
            )
            info.wait_for_publish(5)
            assert info.is_published()
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_student_placed_by_their_phone_shows_source_ble(
    browser: Any, ada_has_a_phone: str, stack: Stack, school: School, mqtt_url: str
) -> None:
    """Ada's phone hears the room's beacon: her row turns Present and says `source: ble`;
    Ben taps his card: his says `source: door`. No reload, and a fresh snapshot agrees."""
    from playwright.sync_api import expect

    page = log_in(browser, stack, school)
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=10_000)
    ada, ben = school.students["Ada"][0], school.students["Ben"][0]
    source = lambda number: page.locator(f'#roster tr[data-student="{number}"] .source')  # noqa: E731
    expect(source(ada)).to_have_count(0)

    phone_reports(mqtt_url, school, ada_has_a_phone, windows=4)
    expect(badge(page, school, "Ada")).to_have_attribute("data-status", "present", timeout=5000)
    expect(source(ada)).to_have_text("source: ble")
    expect(source(ada)).to_have_attribute("data-source", "ble")

    tap(mqtt_url, school, "Ben", f"{school.run}-ble-1")
    expect(source(ben)).to_have_text("source: door", timeout=LIVE_WITHIN_MS)
    expect(source(ada)).to_have_text("source: ble")
    expect(page.locator("#count")).to_have_text("2")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live-room-source-ble.png"), full_page=True)

    page.reload()  # the snapshot from the database says the same
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(source(ada)).to_have_text("source: ble")
    expect(source(ben)).to_have_text("source: door")
    page.context.close()
