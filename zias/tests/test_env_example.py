"""Every variable the settings read is documented in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_documented() -> None:
    sources = (ROOT / "zias" / "settings.py").read_text() + (
        ROOT / "zias" / "envcheck.py"
    ).read_text()
    read = set(re.findall(r'(?:env\.\w+|read_\w+|_raw)\((?:env, )?"([A-Z_]+)"', sources))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "the pattern found no variables; the test would prove nothing"
    assert read - documented == set()
