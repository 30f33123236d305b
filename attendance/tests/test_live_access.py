"""Who may watch a room live, and when: staff always; a teacher only while one of their own
sessions there is running or within LIVE_ACCESS_MARGIN_MINUTES of it. One rule
(attendance.api.access.may_watch_room) for the live page, its WebSocket and the realtime API,
checked here both ways with the clock frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from attendance.tests.test_live_room import _connect
from tests.factories import make_course, make_room, make_session, make_user

# A Monday; BIO101 meets in B-204 from 10:00 to 11:00 (UTC, and London's winter time).
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DURING = START + timedelta(minutes=30)
AN_HOUR_AFTER = START + timedelta(hours=2)


def build() -> dict[str, Any]:
    room = make_room("B-204")
    tess, otto = make_user("tess"), make_user("otto")
    staff = make_user("registrar", staff=True)
    bio = make_course("BIO101", teachers=(tess,))
    history = make_course("HIS200", teachers=(otto,))
    make_session(bio, room, START)
    make_session(history, room, START - timedelta(days=7))  # otto taught here last week
    return {"room": room, "tess": tess, "otto": otto, "staff": staff}


@pytest.fixture
def school(db: Any, settings: Any) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build()


def page_status(user: Any) -> int:
    client = Client()
    client.force_login(user)
    return client.get("/rooms/B-204/").status_code


def jwt_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def api_status(user: Any) -> int:
    return jwt_client(user).get("/api/v1/attendance/realtime/B-204").status_code


def statuses(user: Any) -> tuple[int, int]:
    return page_status(user), api_status(user)


def test_the_teacher_of_the_running_session_may_watch(school) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(DURING, tick=False):
        assert statuses(school["tess"]) == (200, 200)


def test_the_same_teacher_an_hour_after_is_refused(school) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(AN_HOUR_AFTER, tick=False):
        assert statuses(school["tess"]) == (403, 403)
        response = jwt_client(school["tess"]).get("/api/v1/attendance/realtime/B-204")
        assert "own sessions" in response.json()["detail"]


def test_a_teacher_whose_course_met_there_last_week_is_refused(school) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(DURING, tick=False):
        assert statuses(school["otto"]) == (403, 403)


def test_staff_may_always_watch(school) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(AN_HOUR_AFTER + timedelta(days=3), tick=False):
        assert statuses(school["staff"]) == (200, 200)


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (START - timedelta(minutes=15), True),  # the margin before the start
        (START - timedelta(minutes=16), False),
        (START + timedelta(minutes=74), True),  # the margin after the end (11:00)
        (START + timedelta(minutes=75), False),
    ],
)
def test_the_margin_around_a_session(school, moment, allowed) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(moment, tick=False):
        assert statuses(school["tess"]) == ((200, 200) if allowed else (403, 403))


def test_the_margin_is_a_setting(school, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LIVE_ACCESS_MARGIN_MINUTES = 0
    with time_machine.travel(START - timedelta(minutes=1), tick=False):
        assert statuses(school["tess"]) == (403, 403)
    with time_machine.travel(START, tick=False):
        assert statuses(school["tess"]) == (200, 200)


def test_a_cancelled_session_lets_no_one_in(school) -> None:  # type: ignore[no-untyped-def]
    school["room"].sessions.update(cancelled=True)
    with time_machine.travel(DURING, tick=False):
        assert statuses(school["tess"]) == (403, 403)


def test_the_home_page_links_the_room_only_while_it_may_be_watched(school) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(school["tess"])
    with time_machine.travel(START - timedelta(hours=1), tick=False):
        early = client.get("/").content.decode()
    with time_machine.travel(DURING, tick=False):
        during = client.get("/").content.decode()
    assert 'href="/rooms/B-204/"' not in early and "live from 09:45" in early
    assert 'href="/rooms/B-204/"' in during


# -- the WebSocket ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_websocket_follows_the_same_rule() -> None:
    people = await sync_to_async(build)()
    with time_machine.travel(DURING, tick=False):
        communicator, connected, _ = await _connect("B-204", people["tess"])
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
        await communicator.disconnect()
        _, connected, code = await _connect("B-204", people["otto"])
        assert (connected, code) == (False, 4403)
    with time_machine.travel(AN_HOUR_AFTER, tick=False):
        _, connected, code = await _connect("B-204", people["tess"])
        assert (connected, code) == (False, 4403)
        communicator, connected, _ = await _connect("B-204", people["staff"])
        assert connected
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_open_websocket_is_closed_when_the_watch_runs_out() -> None:
    people = await sync_to_async(build)()
    # Connected a second before the margin after the end runs out; the clock moves on.
    with time_machine.travel(START + timedelta(minutes=75, seconds=-1), tick=True):
        communicator, connected, _ = await _connect("B-204", people["tess"])
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
        closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_page_that_slept_past_its_watch_is_closed_on_its_next_request() -> None:
    people = await sync_to_async(build)()
    with time_machine.travel(DURING, tick=False) as traveller:
        communicator, connected, _ = await _connect("B-204", people["tess"])
        assert connected
        await communicator.receive_json_from(timeout=5)
        traveller.move_to(AN_HOUR_AFTER)
        await communicator.send_json_to({"type": "snapshot"})
        closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}
