"""Small typed readers for environment variables that fail loudly, naming the variable.

django-environ parses; these wrappers turn its varied exceptions (and values it would
quietly accept, like an unknown time zone) into one ImproperlyConfigured that says which
variable is wrong and what was expected.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

# The value shipped in .env.example: refused so nobody runs production with it.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(env: environ.Env, name: str) -> str | None:
    return env.str(name, default=None)


def read_bool(env: environ.Env, name: str, default: bool) -> bool:
    raw = _raw(env, name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected a boolean (1/0, true/false), got {raw!r}.")


def read_int(env: environ.Env, name: str, default: int, minimum: int | None = None) -> int:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected an integer, got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {value}.")
    return value


def read_optional_int(
    env: environ.Env, name: str, default: int | None, minimum: int, maximum: int
) -> int | None:
    """An integer in [minimum, maximum], or None when the variable says `off` (empty keeps
    the default, as for every other variable)."""
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw.strip().lower() in {"off", "none"}:
        return None
    value = read_int(env, name, 0, minimum=minimum)
    if value > maximum:
        raise ImproperlyConfigured(f"{name}: must be at most {maximum} (or off), got {value}.")
    return value


def read_list(env: environ.Env, name: str, default: list[str]) -> list[str]:
    raw = _raw(env, name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def checked_time_zone(env: environ.Env) -> str:
    name = env.str("TIME_ZONE", default="Europe/London")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"TIME_ZONE: {name!r} is not a known IANA time zone (e.g. Europe/Berlin)."
        ) from None
    return name


def checked_database(env: environ.Env, base_dir: Path) -> dict[str, Any]:
    raw = _raw(env, "DATABASE_URL")
    if not raw:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(base_dir / "var" / "zias.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    scheme = urlsplit(raw).scheme
    if scheme not in {"mysql", "mysql2", "sqlite", "postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL: unsupported scheme {scheme!r}; use mysql://user:pass@host:3306/db "
            "or sqlite:////path/to/file."
        )
    try:
        config: dict[str, Any] = env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ImproperlyConfigured(f"DATABASE_URL: cannot parse it ({exc}).") from None
    if config["ENGINE"] == "django.db.backends.mysql":
        options = config.setdefault("OPTIONS", {})
        options.setdefault("charset", "utf8mb4")
        # Strict mode turns silent truncation into errors, as the constraints expect.
        options.setdefault("init_command", "SET sql_mode='STRICT_TRANS_TABLES'")
        options.setdefault("isolation_level", "read committed")
        config.setdefault("TEST", {}).setdefault("CHARSET", "utf8mb4")
        config["TEST"].setdefault("COLLATION", "utf8mb4_unicode_ci")
    return config


def checked_redis_url(env: environ.Env) -> str:
    raw = env.str("REDIS_URL", default="")
    if raw and urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"REDIS_URL: expected redis://host:6379/0, got {raw!r}.")
    return raw


def checked_mqtt_url(env: environ.Env, name: str = "MQTT_URL", *, login: bool = False) -> str:
    """An mqtt:// or mqtts:// URL, or "" when unset; with `login`, user and password required."""
    raw = env.str(name, default="")
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name}: expected mqtt://user:password@host:1883, got {raw!r}.")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: bad port in {raw!r}.") from None
    if login and not (parts.username and parts.password):
        raise ImproperlyConfigured(f"{name}: needs a user and password (mqtt://user:password@...).")
    return raw
