"""The environment variables the settings read: one definition for the tests that need it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def variables_read_by_settings() -> set[str]:
    sources = (ROOT / "zias" / "settings.py").read_text() + (
        ROOT / "zias" / "envcheck.py"
    ).read_text()
    calls = re.findall(r'(?:env\.\w+|read_\w+|checked_\w+|_raw)\((?:env, )?"([A-Z_]+)"', sources)
    # A helper's default variable, as in checked_mqtt_url(env, name: str = "MQTT_URL").
    defaults = re.findall(r'name: str = "([A-Z_]+)"', sources)
    return set(calls) | set(defaults)


def variables_in_env_example() -> set[str]:
    return set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
