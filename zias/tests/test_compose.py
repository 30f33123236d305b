"""docker-compose.yml agrees with the project (Docker itself cannot run here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import get_commands

from devices.broker_auth import ACL_FILE, PASSWORD_FILE, ingest_credentials

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


# --- The broker's users and files ---------------------------------------------------------------

INGEST_PASSWORD = "a-test-ingest-password"


def interpolate(value: str, **env: str) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, with `env` as the .env file."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        if op == ":-":
            return rest
        raise KeyError(f"{name} is required: {rest}")

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value).replace("$$", "$")


def mount_target(service: dict[str, Any], volume: str) -> tuple[str, bool]:
    """Where `volume` is mounted in `service`, and whether read-only."""
    for mount in service.get("volumes", []):
        parts = mount.split(":")
        if parts[0] == volume:
            return parts[1], parts[2:] == ["ro"]
    raise AssertionError(f"{volume} is not mounted")


def broker_option(name: str) -> str:
    config = (ROOT / "mosquitto" / "config" / "mosquitto.conf").read_text()
    match = re.search(rf"^{name} (.+)$", config, re.M)
    assert match, name
    return match.group(1)


def test_mqtt_sync_writes_the_plugin_file_the_broker_loads(services: dict[str, Any]) -> None:
    command = services["mqtt-sync"]["command"]
    assert command[:3] == ["python", "manage.py", "mosquitto_sync"]
    written = command[command.index("--dynsec-file") + 1]
    assert broker_option("plugin").endswith("/mosquitto_dynamic_security.so")
    assert broker_option("plugin_opt_config_file") == written
    # The broker rewrites the file after every change: the same volume, writable, for both.
    folder = str(Path(written).parent)
    assert mount_target(services["mqtt-sync"], "mosquitto-data") == (folder, False)
    assert mount_target(services["mosquitto"], "mosquitto-data") == (folder, False)
    assert folder == broker_option("persistence_location").rstrip("/")


def test_the_password_files_are_the_documented_alternative() -> None:
    config = (ROOT / "mosquitto" / "config" / "mosquitto.conf").read_text()
    assert f"#password_file /mosquitto/auth/{PASSWORD_FILE}" in config
    assert f"#acl_file /mosquitto/auth/{ACL_FILE}" in config


def test_the_broker_starts_only_after_the_file_is_written(services: dict[str, Any]) -> None:
    assert services["mqtt-sync"]["restart"] == "no"  # one-shot
    assert services["mqtt-sync"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert services["mosquitto"]["depends_on"]["mqtt-sync"] == {
        "condition": "service_completed_successfully"
    }
    assert services["ingest"]["depends_on"]["mosquitto"] == {"condition": "service_healthy"}


def test_mqtt_sync_writes_as_the_brokers_user(services: dict[str, Any]) -> None:
    # eclipse-mosquitto runs as uid/gid 1883; the file is 0600, so it must be its own.
    assert services["mqtt-sync"]["user"] == "1883:1883"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "chown 1883:1883 /mosquitto/auth /mosquitto/data" in dockerfile


def test_the_apps_and_mqtt_sync_share_the_broker_admin(services: dict[str, Any]) -> None:
    env = {"MQTT_INGEST_PASSWORD": INGEST_PASSWORD, "MQTT_ADMIN_PASSWORD": "an-admin-password"}
    urls = {
        interpolate(services[name]["environment"]["MQTT_ADMIN_URL"], **env)
        for name in ["web", "ingest", "mqtt-sync"]
    }
    assert urls == {"mqtt://zias-admin:an-admin-password@mosquitto:1883"}
    with pytest.raises(KeyError, match="MQTT_ADMIN_PASSWORD"):
        interpolate(services["web"]["environment"]["MQTT_ADMIN_URL"])


def test_the_ingest_and_mqtt_sync_agree_on_the_ingests_broker_user(
    services: dict[str, Any],
) -> None:
    env = {"MQTT_INGEST_PASSWORD": INGEST_PASSWORD}
    ingest_url = interpolate(services["ingest"]["environment"]["MQTT_URL"], **env)
    sync_url = interpolate(services["mqtt-sync"]["environment"]["MQTT_URL"], **env)
    assert ingest_url == sync_url
    user = ingest_credentials(ingest_url)
    assert user.password == INGEST_PASSWORD
    # The healthcheck logs in as that user, so a bad sync makes the broker unhealthy.
    check = [interpolate(arg, **env) for arg in services["mosquitto"]["healthcheck"]["test"]]
    assert check[check.index("-u") + 1] == user.username
    assert check[check.index("-P") + 1] == user.password
    assert check[check.index("-t") + 1].startswith("$SYS/")


def test_the_ingests_broker_password_has_no_default(services: dict[str, Any]) -> None:
    # It reads every topic and answers every reader: a shipped default would be a way in.
    with pytest.raises(KeyError, match="MQTT_INGEST_PASSWORD"):
        interpolate(services["ingest"]["environment"]["MQTT_URL"])
    with pytest.raises(KeyError, match="MQTT_INGEST_PASSWORD"):
        [interpolate(arg) for arg in services["mosquitto"]["healthcheck"]["test"]]


def test_broker_secrets_stay_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"mosquitto/certs", "mosquitto/auth", "mosquitto/data", ".env"} <= set(ignored)
