"""Start-up refuses bad configuration, naming the variable; production settings pass --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zias.envcheck import EXAMPLE_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
REAL_SECRET = "k3v9-a-real-production-secret-with-enough-entropy-x7Qm2Lp9Rt4Wz8Yb"
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": REAL_SECRET,
    "ALLOWED_HOSTS": "zias.example.edu",
    "CSRF_TRUSTED_ORIGINS": "https://zias.example.edu",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SECRET_KEY", "DEBUG", "SECURE_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_values() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "ERROR", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    # HSTS preload (W021) is a commitment a school opts into; everything else must be quiet.
    warnings = [line for line in result.stderr.splitlines() if "(security.W" in line]
    assert [w for w in warnings if "W021" not in w] == []


def test_the_example_secret_is_refused() -> None:
    result = run_manage("check", **{**PRODUCTION, "SECRET_KEY": EXAMPLE_SECRET_KEY})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "example" in result.stderr


def test_a_missing_secret_is_refused_when_debug_is_off() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY: required" in result.stderr


def test_checking_migrations_needs_no_secret_but_serving_still_does() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run_manage("makemigrations", "--check", "--dry-run", **env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert run_manage("check", **env).returncode != 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("TIME_ZONE", "Mars/Olympus_Mons"),
        ("DATABASE_URL", "oracle://db/zias"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("MQTT_URL", "tcp://broker"),
        ("MQTT_TOPIC_PREFIX", "zias/#"),
        ("JWT_ACCESS_MINUTES", "soon"),
        ("INGEST_BATCH_SIZE", "0"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name: str, value: str) -> None:
    result = run_manage("check", **{**PRODUCTION, name: value})
    assert result.returncode != 0
    assert f"{name}:" in result.stderr
