"""The staff dashboard and the charts, in Chromium against Daphne and a running ingest.

A small school is seeded around the present moment (today's sessions, last week's, readers,
rejected messages, flags); the test works out every figure the page should show from what
it seeded, logs in through the admin's form, checks the figures in the page and in the
SVG charts, and keeps screenshots under artifacts/e2e/.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from attendance.days import day_bounds, local_day
from attendance.models import (
    AttendanceRecord,
    ClassSession,
    ProxyFlag,
    RecomputeRequest,
    Visit,
    VisitSource,
)
from devices.models import RejectedMessage
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
from tests.e2e.test_live_page_browser import wait_for_ingest
from tests.factories import (
    make_course,
    make_reader,
    make_room,
    make_student,
    make_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = BASE_DIR / "artifacts" / "e2e"
PASSWORD = "pw-for-browser-tests-1"
ZONE = "Europe/London"


@dataclass
class Seeded:
    run: str
    course: str
    room: str
    arrivals: Counter[str]  # "HH:MM" of each five-minute slot -> first entries in it


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


def seed(run: str, now: datetime) -> Seeded:
    """Today: an ended session (5 of 6 attended) and a running one (3 in the room); the
    same weekday last week: 3 of 6. Two readers, one offline; three rejected messages;
    two flags to review and one reviewed."""
    make_user(f"staff-{run}", staff=True, password=PASSWORD)
    room = make_room(f"H-{run}", name="Lecture hall", capacity=8)
    make_reader(room, f"door-{run}", online=True, last_seen=now)
    make_reader(room, f"back-{run}", online=False, last_seen=now - timedelta(hours=3))
    students = [make_student(f"D{run}{i}", last_name=f"Pupil{i}") for i in range(6)]
    course = make_course(f"BIO-{run}", name="Biology", students=tuple(students), warn_below_pct=75)

    # The records below are the figures under test, made by hand: the sessions are made
    # with their final times and the past ones finalised, and the recompute requests that
    # adding a past session leaves are taken back (there is no evidence to recompute from).
    day_start, _ = day_bounds(local_day(now))
    span = now - day_start  # sessions fit into today so far, whatever the hour

    def session(starts_at: datetime, ends_at: datetime, final: bool) -> ClassSession:
        return ClassSession.objects.create(
            course=course,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            finalised_at=now if final else None,
        )

    ended = session(day_start + span * 0.1, day_start + span * 0.4, True)
    running = session(day_start + span * 0.5, now + timedelta(hours=1), False)
    last_week = session(
        ended.starts_at - timedelta(days=7),
        ended.starts_at - timedelta(days=7) + timedelta(minutes=50),
        True,
    )

    for student, status in zip(students, ["present"] * 4 + ["late", "absent"], strict=True):
        AttendanceRecord.objects.create(session=ended, student=student, status=status)
    for student, status in zip(students, ["present"] * 3 + ["absent"] * 3, strict=True):
        AttendanceRecord.objects.create(session=last_week, student=student, status=status)

    arrivals: Counter[str] = Counter()
    for i, student in enumerate(students[:3]):
        entered = running.starts_at + (now - running.starts_at) * (0.2 + 0.3 * i)
        Visit.objects.create(
            student=student, room=room, entered_at=entered, source=VisitSource.DOOR
        )
        AttendanceRecord.objects.create(session=running, student=student, status="present")
        local = _local(entered)
        arrivals[f"{local:%H}:{local.minute - local.minute % 5:02d}"] += 1

    for reason in ("unknown sender", "unknown sender", "payload is not JSON"):
        RejectedMessage.objects.create(
            topic=f"zias/devices/x-{run}/events", reason=reason, received_at=now
        )
    RejectedMessage.objects.create(
        topic="old", reason="long ago", received_at=now - timedelta(hours=2)
    )
    for kind, reviewed in (("impossible_travel", None), ("multi_card_one_motion", None),
                           ("multi_card_one_motion", now)):  # fmt: skip
        ProxyFlag.objects.create(
            kind=kind, student=students[0], room=room, at=now, detail="seeded", reviewed_at=reviewed
        )
    RecomputeRequest.objects.all().delete()
    return Seeded(run, course.code, room.code, arrivals)


@dataclass
class Site:
    url: str
    db: SharedDatabase


@pytest.fixture
def seeded() -> Seeded:
    return seed(uuid.uuid4().hex[:6], timezone.now())


@pytest.fixture
def site(seeded: Seeded, mqtt_url: str) -> Iterator[Site]:
    db = SharedDatabase()
    db.publish_seed()
    port = free_port()
    env = service_env(
        db, MQTT_URL=mqtt_url, MQTT_TOPIC_PREFIX=f"zias-e2e-{seeded.run}", TIME_ZONE=ZONE
    )
    env.pop("REDIS_URL", None)  # nothing live here: the page refreshes by fetching
    client_id = f"zias-e2e-dash-{seeded.run}"
    web: Service = daphne(env, port).start()
    loop: Service = ingest(env, client_id).start()
    try:
        wait_for_ingest(db, loop, client_id)
        assert wait_until(lambda: port_open(port) or not web.running, 60), web.output()
        yield Site(f"http://127.0.0.1:{port}", db)
    finally:
        web.stop()
        loop.stop()
        print(web.output(), loop.output())


def log_in(browser: Any, site: Site, seeded: Seeded, path: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.goto(f"{site.url}/admin/login/?next={path}")
    page.fill("#id_username", f"staff-{seeded.run}")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{site.url}{path}")
    return page


def test_the_dashboard_shows_todays_figures(browser: Any, site: Site, seeded: Seeded) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, site, seeded, "/admin/")
    dash = page.locator("#zias-dashboard")
    expect(dash).to_be_visible()

    rows = dash.locator("#zd-sessions tbody tr")
    expect(rows).to_have_count(2)
    ended, running = rows.nth(0), rows.nth(1)
    expect(ended.locator(".zd-state")).to_have_text("Ended")
    expect(ended.locator(".zd-attended")).to_have_text("5")
    expect(ended.locator(".zd-rate")).to_contain_text("83.3%")  # 5 of 6
    expect(running.locator(".zd-state")).to_have_text("Running")
    expect(running.locator(".zd-in-room")).to_have_text("3")
    expect(running.locator(".zd-rate")).to_contain_text("50.0%")  # 3 of 6 so far

    # This week: today's ended session (5 of 6); last week: 3 of 6.
    expect(dash.locator("#zd-week .zd-big")).to_have_text("83.3%")
    expect(dash.locator("#zd-week .zd-sub")).to_contain_text("last week 50.0%")
    expect(dash.locator("#zd-week .zd-sub")).to_contain_text("+33.3 pts")
    expect(dash.locator("#zd-offline .zd-big")).to_have_text("1")
    expect(dash.locator("#zd-offline-list")).to_contain_text(f"back-{seeded.run}")
    expect(dash.locator("#zd-rejected .zd-big")).to_have_text("3")
    reasons = dash.locator("#zd-rejected-list tr")
    expect(reasons.nth(0)).to_contain_text("unknown sender")
    expect(reasons.nth(0).locator(".n")).to_have_text("2")
    expect(dash.locator("#zd-flags .zd-big")).to_have_text("2")
    expect(dash.locator("#zd-ingest .zd-sub")).to_contain_text("1 ingest process, 0 messages")
    expect(dash.locator("#zd-ingest .zd-sub")).to_have_attribute(
        "title", re.compile(f"zias-e2e-dash-{seeded.run}: ")
    )
    expect(dash.locator("#zd-ingest .zd-big")).to_contain_text(" s")
    expect(dash.locator("a", has_text="All reports")).to_have_attribute("href", "/admin/reports/")

    chart = dash.locator("#zd-arrivals svg")
    for slot, n in seeded.arrivals.items():
        expect(chart.locator(f'g.bar[data-label="{slot}"]')).to_have_attribute("data-value", str(n))
    drawn = chart.locator("g.bar text.value").evaluate_all("ts => ts.map(t => t.textContent)")
    assert sorted(int(t) for t in drawn) == sorted(seeded.arrivals.values())

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dash.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    page.screenshot(path=str(ARTIFACTS / "dashboard-page.png"), full_page=True)
    page.context.close()


def test_the_course_and_room_charts_show_their_figures(
    browser: Any, site: Site, seeded: Seeded
) -> None:
    from playwright.sync_api import expect

    course_id = site.db.scalar("SELECT id FROM attendance_course WHERE code = %s", (seeded.course,))
    page = log_in(browser, site, seeded, f"/admin/attendance/course/{course_id}/change/")
    chart = page.locator("svg.zias-chart")
    expect(chart).to_contain_text(f"{seeded.course}: attendance rate per week")
    values = chart.locator("g.bar").evaluate_all("bars => bars.map(b => b.dataset.value)")
    assert values == ["50%", "83.3%"], values  # last week 3 of 6, this week 5 of 6
    expect(chart.locator("text.rule")).to_have_text("warning below 75%")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chart.screenshot(path=str(ARTIFACTS / "chart-course-weekly-rate.png"))

    room_id = site.db.scalar("SELECT id FROM attendance_room WHERE code = %s", (seeded.room,))
    page.goto(f"{site.url}/admin/attendance/room/{room_id}/change/")
    room_chart = page.locator("svg.zias-chart")
    expect(room_chart).to_contain_text(f"{seeded.room}: people in the room on")
    expect(room_chart.locator("text.rule")).to_have_text("capacity 8")
    counts = room_chart.locator("g.bar").evaluate_all(
        "bars => bars.map(b => Number(b.dataset.value))"
    )
    assert max(counts) == 3, counts  # the three open visits of the running session
    room_chart.screenshot(path=str(ARTIFACTS / "chart-room-occupancy.png"))

    # The same chart as a file of its own, for a link or a download.
    response = page.request.get(f"{site.url}/admin/charts/courses/{seeded.course}/weekly-rate.svg")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert 'data-value="83.3%"' in response.text()
    page.context.close()
