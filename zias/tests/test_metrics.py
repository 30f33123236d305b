"""GET /metrics: who may read it, and that its figures follow what the ingest did."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from attendance.models import RecomputeRequest, RejudgeRequest
from devices.models import IngestWorker, Reader
from tests.factories import make_card, make_reader, make_room, make_student, make_user
from zias import metrics

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


@pytest.fixture
def door(db):
    reader = make_reader(make_room("B-204"), "door-1")
    make_card(make_student(first_name="Ada", last_name="Okafor"), "04A1B2C3")
    return reader


def scrape(client: Client | None = None, token: str | None = TOKEN) -> str:
    client = client or Client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_without_a_token_or_a_login_it_is_401():
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "METRICS_TOKEN" in response.json()["detail"]


def test_a_wrong_token_is_401_and_no_token_configured_refuses_every_bearer(settings):
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


@pytest.mark.django_db
def test_a_login_without_staff_is_403_and_a_staff_login_reads_it():
    make_user("pupil")
    make_user("registrar", staff=True)
    pupil, staff = Client(), Client()
    pupil.login(username="pupil", password="pw-for-tests-1")
    staff.login(username="registrar", password="pw-for-tests-1")
    assert pupil.get("/metrics").status_code == 403
    assert "zias_ingest_messages" in scrape(staff, token=None)


@pytest.mark.django_db
def test_database_figures_are_read_at_the_scrape(door):
    Reader.objects.filter(pk=door.pk).update(online=True)
    now = timezone.now()
    IngestWorker.objects.create(
        name="w-1",
        started_at=now,
        last_tick_at=now,
        pending=3,
        oldest_pending_at=now - timedelta(seconds=42),
    )
    RejudgeRequest.objects.create(reader="door-1", lo=now, hi=now)
    RecomputeRequest.objects.create(subject="course:X", cause="t", scope={}, total=5, position=2)
    text = scrape()
    assert value(text, "zias_database_up") == 1
    assert value(text, "zias_readers", online="true") == 1
    assert value(text, "zias_readers", online="false") == 0
    assert 42 <= value(text, "zias_ingest_lag_seconds", worker="w-1") < 60
    assert value(text, "zias_ingest_pending_messages", worker="w-1") == 3
    assert value(text, "zias_recompute_backlog", kind="rejudge_requests") == 1
    assert value(text, "zias_recompute_backlog", kind="recompute_requests") == 1
    assert value(text, "zias_recompute_backlog", kind="recompute_items") == 3
    assert value(text, "zias_recompute_oldest_age_seconds") >= 0


@pytest.mark.asyncio
async def test_websocket_gauge_and_live_messages_follow_the_consumer_hooks():
    before = metrics.WEBSOCKETS._value.get()
    metrics.websocket_opened()
    metrics.live_message_sent({"type": "entered"})
    metrics.live_message_sent({"type": "surprise"})
    assert metrics.WEBSOCKETS._value.get() == before + 1
    metrics.websocket_closed()
    assert metrics.WEBSOCKETS._value.get() == before
    assert metrics.LIVE_MESSAGES.labels("other")._value.get() >= 1


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("unknown device 'door-9'", "unknown_sender"),
        ("phone 'p-1' is not active", "sender_disabled"),
        ("payload is 70000 bytes; the limit is 65536", "oversized"),
        ("payload is not JSON (Expecting value)", "not_json"),
        ("topic 'x/y' is not one the contract defines", "bad_topic"),
        ("uid must be 4, 7 or 10 bytes of hex, got 'zz'", "contract"),
    ],
)
def test_rejection_reasons_are_sorted_into_a_few_labels(reason, kind):
    assert metrics.reason_kind(reason) == kind


def test_several_processes_add_up_in_the_multiprocess_directory(tmp_path: Path):
    """Two processes count into one PROMETHEUS_MULTIPROC_DIR; a third reads the sum, and a
    connection gauge of a process that ended stops counting once it is marked dead."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": ""}
    env.pop("DJANGO_SETTINGS_MODULE")
    count = (
        "from zias import metrics; "
        "metrics.TAP_ANSWERS.labels('accepted').inc(3); metrics.websocket_opened()"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, cwd=_repo())
    read = (
        "from prometheus_client import CollectorRegistry, generate_latest; "
        "from prometheus_client.multiprocess import MultiProcessCollector; "
        "r = CollectorRegistry(); MultiProcessCollector(r); "
        "print(generate_latest(r).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, capture_output=True, cwd=_repo()
    ).stdout.decode()
    assert value(out, "zias_tap_answers_total", result="accepted") == 6
    # Both writers have exited and marked themselves dead (zias.metrics, atexit).
    assert value(out, "zias_websocket_connections") == 0


def _repo() -> str:
    return str(Path(__file__).resolve().parents[2])


@pytest.mark.django_db
def test_the_grafana_dashboard_asks_only_for_metrics_the_endpoint_exports():
    dashboard = json.loads((Path(_repo()) / "docs" / "grafana" / "zias.json").read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bzias_[a-z_]+", target["expr"])
    }
    suffixes = ("", "_total", "_bucket", "_sum", "_count")
    exported = {
        family.name + suffix
        for family in text_string_to_metric_families(scrape())
        for suffix in suffixes
    }
    assert len(asked) >= 12
    assert asked - exported == set()


def test_the_compose_metrics_file_shares_one_directory_between_web_and_ingest():
    compose = yaml.safe_load((Path(_repo()) / "docker-compose.metrics.yml").read_text())
    services = compose["services"]
    for name in ("web", "ingest"):
        directory = services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert f"zias-metrics:{directory}" in services[name]["volumes"]
        assert "metrics-dir" in services[name]["depends_on"]
    assert f"zias-metrics:{directory}" in services["metrics-dir"]["volumes"]
    assert directory in " ".join(services["metrics-dir"]["command"])


def test_a_quarantined_message_is_counted_apart_from_accepted_and_rejected():
    from devices.mqtt.pipeline import BatchOutcome, IncomingMessage

    label = {"transport": "http"}
    before = {o: metrics.INGEST_MESSAGES.labels(outcome=o, **label)._value.get() for o in
              ("accepted", "quarantined")}  # fmt: skip
    message = IncomingMessage("zias/devices/door-1/events", b"{}")
    metrics.observe_batch([message], BatchOutcome(quarantined=1), 0.0, transport="http")
    assert metrics.INGEST_MESSAGES.labels(outcome="quarantined", **label)._value.get() == (
        before["quarantined"] + 1
    )
    assert (
        metrics.INGEST_MESSAGES.labels(outcome="accepted", **label)._value.get()
        == (before["accepted"])
    )
