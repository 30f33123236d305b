"""The layer contracts (pyproject.toml, lint-imports) hold, and would catch an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["attendance", "devices", "beacons", "zias", "tests"]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where), "DEBUG": "1"}
    return subprocess.run(
        [str(LINT), "--config", str(where / "pyproject.toml"), "--no-cache"],
        cwd=where, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def copy_of_the_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, where / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    return where


def test_the_tree_keeps_every_contract(copy_of_the_tree: Path) -> None:
    result = _lint(copy_of_the_tree)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("attendance/rules/upward.py", "import django.db\n", "The pure rules import no Django"),
        (
            "attendance/engine/upward.py",
            "from attendance.services import correct_attendance\n",
            "The one door: services over the engine",
        ),
        (
            "attendance/engine/upward.py",
            "from devices.mqtt import pipeline\n",
            "The services and the engine import no transport",
        ),
        (
            "attendance/views_upward.py",
            "from attendance.engine import records\n",
            "Entry points go through attendance.services",
        ),
    ],
)
def test_an_upward_import_breaks_its_contract(
    copy_of_the_tree: Path, module: str, line: str, contract: str
) -> None:
    bad = copy_of_the_tree / module
    if module == "attendance/views_upward.py":  # an entry point: make it one of the views
        bad = copy_of_the_tree / "attendance" / "views.py"
        original = bad.read_text()
        bad.write_text(original + "\n" + line)
    else:
        bad.write_text(line)
    try:
        result = _lint(copy_of_the_tree)
    finally:
        if module == "attendance/views_upward.py":
            bad.write_text(original)
        else:
            bad.unlink()
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout[-3000:]
