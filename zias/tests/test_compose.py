"""docker-compose.yml agrees with the project (Docker itself cannot run here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]


def test_the_stack_has_every_part(services: dict[str, Any]) -> None:
    assert {"mysql", "redis", "mosquitto", "web", "ingest", "migrate", "mqtt-sync"} <= set(services)
    assert services["mysql"]["image"] == "mysql:8.0"
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:")
    assert services["redis"]["image"].startswith("redis:")


def test_long_running_services_have_healthchecks(services: dict[str, Any]) -> None:
    for name in ["mysql", "redis", "mosquitto", "web"]:
        assert "healthcheck" in services[name], name


def test_manage_py_commands_in_the_stack_exist(services: dict[str, Any]) -> None:
    known = set(get_commands())
    for name, service in services.items():
        command = service.get("command", [])
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in known, f"{name} runs unknown command {command[2]!r}"


def test_web_serves_the_asgi_application_with_daphne(services: dict[str, Any]) -> None:
    command = services["web"]["command"]
    assert command[0] == "daphne" and command[-1] == "zias.asgi:application"
    assert "8000:8000" in services["web"]["ports"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "zias.asgi:application" in dockerfile


def test_the_broker_ports_match_its_config(services: dict[str, Any]) -> None:
    config = (ROOT / "mosquitto" / "config" / "mosquitto.conf").read_text()
    listeners = set(re.findall(r"^listener (\d+)", config, re.M))
    assert {"1883", "9001"} <= listeners
    published = {p.split(":")[1] for p in services["mosquitto"]["ports"]}
    assert published == {"1883", "9001"}
    assert re.search(r"^allow_anonymous false", config, re.M)
    assert re.search(r"^persistence true", config, re.M)
    mounts = services["mosquitto"]["volumes"]
    assert any(m.startswith("./mosquitto/config:/mosquitto/config") for m in mounts)


def test_the_apps_reach_the_services_by_their_compose_names(services: dict[str, Any]) -> None:
    for name in ["web", "ingest"]:
        env = services[name]["environment"]
        assert "@mysql:3306/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert "@mosquitto:1883" in env["MQTT_URL"]
