"""The guides under docs/ name only commands, settings and API paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted((ROOT / "docs").glob("*.md"))
# Upper-case names in the guides that are not ZIAS settings (platform permissions).
NOT_SETTINGS = {"BLUETOOTH_SCAN"}


def test_there_are_guides_and_the_readme_links_each_one() -> None:
    readme = (ROOT / "README.md").read_text()
    names = {g.name for g in GUIDES}
    assert {"beacons.md", "mobile-app.md", "operations.md", "security.md"} <= names
    for guide in GUIDES:
        assert f"docs/{guide.name}" in readme, guide.name


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_every_command_setting_and_path_in_a_guide_exists(guide: Path) -> None:
    text = guide.read_text()
    commands = set(re.findall(r"manage\.py ([a-z_]+)", text))
    assert commands - set(get_commands()) == set()
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})`", text)) - NOT_SETTINGS
    assert named - documented == set()
    for path in re.findall(r"(/api/v1/[a-z/_-]+(?:<id>[a-z/_-]*)?)", text):
        try:
            resolve(path.replace("<id>", "door-1"))
        except Resolver404:
            pytest.fail(f"{guide.name} names {path}, which no URL serves")
