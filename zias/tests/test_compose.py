"""docker-compose.yml agrees with the project, run or parsed as far as this machine can
(Docker itself cannot run here): every manage.py command line parses with the command's own
parser and daphne's with daphne's, the health checks name real things, every variable the
file uses is documented, and the one-shot that loads MariaDB's time zone tables runs, as
written, against the local MariaDB."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.urls import resolve

from devices.broker_auth import ACL_FILE, PASSWORD_FILE, ingest_credentials
from zias.tests.envvars import variables_in_env_example, variables_read_by_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
APP_SERVICES = ["migrate", "mqtt-sync", "web", "ingest"]  # the ones built from this repo


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_TEXT)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def test_the_stack_has_every_part(services: dict[str, Any]) -> None:
    parts = {"mariadb", "db-timezones", "redis", "mosquitto", "web", "ingest", "migrate"}
    assert parts | {"mqtt-sync"} <= set(services)
    # The server CI tests against (MariaDB 10.11), so the stack runs the tested SQL paths.
    assert services["mariadb"]["image"] == "mariadb:10.11"
    assert services["db-timezones"]["image"] == services["mariadb"]["image"]
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:")
    assert services["redis"]["image"].startswith("redis:")


def test_long_running_services_have_healthchecks(services: dict[str, Any]) -> None:
    for name in ["mariadb", "redis", "mosquitto", "web"]:
        assert "healthcheck" in services[name], name


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
        assert "@mariadb:3306/" in env["DATABASE_URL"]
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


# --- What the services run ------------------------------------------------------------------


def test_every_manage_py_command_line_parses(services: dict[str, Any]) -> None:
    commands = get_commands()
    checked = 0
    for name, service in services.items():
        command = service.get("command", [])
        if command[:2] != ["python", "manage.py"]:
            continue
        subcommand, args = command[2], command[3:]
        assert subcommand in commands, f"{name}: no manage.py command {subcommand!r}"
        parser = load_command_class(commands[subcommand], subcommand).create_parser(
            "manage.py", subcommand
        )
        parser.parse_args(args)  # SystemExit (a failed test) on an unknown option
        checked += 1
    assert checked >= 3  # migrate, mqtt-sync, ingest


def test_the_web_command_parses_with_daphne_and_names_the_asgi_application(
    services: dict[str, Any],
) -> None:
    from daphne.cli import CommandLineInterface

    command = services["web"]["command"]
    assert command[0] == "daphne"
    options = CommandLineInterface().parser.parse_args(command[1:])
    module, attribute = options.application.split(":")
    assert module == "zias.asgi" and attribute == "application"
    assert (ROOT / "zias" / "asgi.py").exists()
    published = {p.split(":")[1] for p in services["web"]["ports"]}
    assert str(options.port) in published


def test_the_web_health_check_calls_a_real_url(services: dict[str, Any]) -> None:
    test = services["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "healthcheck", "exec")
    url = re.search(r"'(http://[^']+)'", test[3])
    assert url, test[3]
    assert resolve(urlsplit(url.group(1)).path).func.__name__ == "health"


def test_the_database_healthcheck_uses_the_images_own_script(services: dict[str, Any]) -> None:
    # mariadb images ship healthcheck.sh; --innodb_initialized waits for the engine.
    assert services["mariadb"]["healthcheck"]["test"][:2] == ["CMD", "healthcheck.sh"]


def test_every_variable_the_file_uses_is_documented() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_TEXT))
    assert used, "found no ${VAR}: the pattern is wrong"
    assert used - variables_in_env_example() == set()


def test_the_apps_are_given_only_variables_the_settings_read(services: dict[str, Any]) -> None:
    read = variables_read_by_settings()
    for name in APP_SERVICES:
        assert services[name]["env_file"] == ".env"
        assert set(services[name]["environment"]) - read == set(), name


def test_the_app_logs_in_as_the_user_the_database_service_creates(
    services: dict[str, Any],
) -> None:
    url = urlsplit(services["web"]["environment"]["DATABASE_URL"])
    db = services["mariadb"]["environment"]
    assert url.path == "/" + db["MARIADB_DATABASE"]
    assert url.username == db["MARIADB_USER"]
    assert url.password == db["MARIADB_PASSWORD"]  # the same ${VAR:-default}
    assert url.hostname == "mariadb" and url.port == 3306


def test_every_dependency_is_a_service_in_the_state_it_waits_for(
    services: dict[str, Any],
) -> None:
    for name, service in services.items():
        for needed, rule in service.get("depends_on", {}).items():
            assert needed in services, f"{name} waits for a missing service {needed}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], f"{name} -> {needed}"
            elif rule["condition"] == "service_completed_successfully":
                assert services[needed].get("restart") == "no", f"{needed} is not a one-shot"
    # The tables are loaded before anything can query with CONVERT_TZ.
    assert services["migrate"]["depends_on"]["db-timezones"] == {
        "condition": "service_completed_successfully"
    }


def test_every_mount_is_a_declared_volume_or_a_path_in_the_repo(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_the_image_can_build_mysqlclient_and_has_the_tools_the_stack_calls() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ["libmariadb-dev", "pkg-config", "gcc", "mosquitto-clients"]:
        assert package in dockerfile
    for copied in re.findall(r"^COPY (\S+) ", dockerfile, re.M):
        assert (ROOT / copied).exists(), copied


# --- The time zone tables ------------------------------------------------------------------

TZ_TABLES = [
    "time_zone",
    "time_zone_name",
    "time_zone_transition",
    "time_zone_transition_type",
    "time_zone_leap_second",
]


def mariadb_client_args() -> list[str]:
    db = settings.DATABASES["default"]
    return [
        f"--host={db['HOST'] or '127.0.0.1'}",
        f"--port={db['PORT'] or 3306}",
        f"--user={db['USER']}",
    ]


def run_sql(sql: str) -> str:
    env = {**os.environ, "MYSQL_PWD": settings.DATABASES["default"]["PASSWORD"] or ""}
    result = subprocess.run(
        ["mariadb", *mariadb_client_args(), "-N", "-e", sql],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_the_time_zone_one_shot_loads_the_tables_and_can_run_again(
    services: dict[str, Any],
) -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.mysql":
        pytest.skip("needs MariaDB (DATABASE_URL=mysql://...): the one-shot runs its client")
    for program in ["mariadb-tzinfo-to-sql", "mariadb", "sh"]:
        assert shutil.which(program), f"{program} is not installed"
    entrypoint = services["db-timezones"]["entrypoint"]
    assert entrypoint[:2] == ["sh", "-c"]
    script = entrypoint[2]
    # As written, but pointed at a scratch schema on the test server instead of the stack's
    # `mysql` schema (other tests on this server read its tables meanwhile).
    client = "mariadb --host=mariadb --user=root mysql"
    assert script.endswith("| " + client), script
    scratch = f"{settings.DATABASES['default']['NAME']}_tz_check"[:64]
    local_client = shlex.join(["mariadb", *mariadb_client_args(), scratch])
    local_script = script.replace(client, local_client)
    assert services["db-timezones"]["environment"]["MYSQL_PWD"].startswith(
        "${MARIADB_ROOT_PASSWORD"
    )
    env = {**os.environ, "MYSQL_PWD": settings.DATABASES["default"]["PASSWORD"] or ""}
    copies = "; ".join(f"CREATE TABLE `{scratch}`.{t} LIKE mysql.{t}" for t in TZ_TABLES)
    run_sql(f"DROP DATABASE IF EXISTS `{scratch}`; CREATE DATABASE `{scratch}`; {copies}")
    try:
        for _ in range(2):  # every `docker compose up` runs it again
            subprocess.run(["sh", "-c", local_script], env=env, check=True, timeout=300)
        london = run_sql(
            f"SELECT COUNT(*) FROM `{scratch}`.time_zone_name WHERE Name = 'Europe/London'"
        )
        total = int(run_sql(f"SELECT COUNT(*) FROM `{scratch}`.time_zone_name"))
        assert london == "1" and total > 400
    finally:
        run_sql(f"DROP DATABASE IF EXISTS `{scratch}`")
