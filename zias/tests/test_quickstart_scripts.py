"""scripts/lib.sh, which scripts/test and scripts/demo use to set up .venv.

Each test runs the real shell functions in a scratch directory whose `.venv/bin/python` is a
small script that records its arguments and plays pip (succeeding or failing), so nothing is
installed. .ci/fresh-machine runs the real thing from a clean clone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/bin/sh
# Plays the venv's python: pip calls are recorded and exit with $FAKE_PIP_STATUS, and
# `import MySQLdb` fails unless FAKE_HAS_MYSQLDB=0; the rest (the Python.h probe) goes to
# the real interpreter.
if [ "$2" = pip ]; then
  echo "$*" >> "$(dirname "$0")/../pip-calls"
  exit "${FAKE_PIP_STATUS:-0}"
fi
if [ "$2" = "import MySQLdb" ]; then exit "${FAKE_HAS_MYSQLDB:-1}"; fi
exec "%s" "$@"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ["requirements.txt", "requirements-dev.txt"]:
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "lib.sh", tmp_path / "scripts" / "lib.sh")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON % sys.executable)
    python.chmod(0o755)
    return tmp_path


def run(project: Path, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`script` after sourcing lib.sh, in bash without `set -e` (as a careless caller)."""
    return subprocess.run(
        ["bash", "-c", f"source scripts/lib.sh\n{script}"],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(project), **env},
        timeout=60,
    )


def stamps(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".venv").glob(".installed-*"))


def pip_calls(project: Path) -> list[str]:
    log = project / ".venv" / "pip-calls"
    return log.read_text().splitlines() if log.exists() else []


def test_a_failed_install_leaves_no_stamp_and_says_so(project: Path) -> None:
    result = run(
        project, "ensure_venv requirements-dev.txt without-mysql; echo rc=$?", FAKE_PIP_STATUS="1"
    )
    assert "rc=1" in result.stdout
    assert "Installing the packages of requirements-dev.txt failed" in result.stderr
    assert stamps(project) == []


def test_without_mysql_leaves_mysqlclient_out_of_the_included_files_too(project: Path) -> None:
    result = run(project, "ensure_venv requirements-dev.txt without-mysql")
    assert result.returncode == 0, result.stderr
    installed = (project / ".venv" / "requirements-dev-without-mysql.txt").read_text()
    assert "mysqlclient" not in installed.lower()
    assert "Django==" in installed and "pytest==" in installed  # runtime and dev, flattened
    assert "-r " not in installed
    assert len(stamps(project)) == 1


def test_an_install_is_not_repeated_and_covers_its_subsets(project: Path) -> None:
    assert run(project, "ensure_venv requirements-dev.txt without-mysql").returncode == 0
    calls = len(pip_calls(project))
    # The demo's set (requirements.txt without mysqlclient) is inside the test run's set.
    assert run(project, "ensure_venv requirements.txt without-mysql").returncode == 0
    assert run(project, "ensure_venv requirements-dev.txt without-mysql").returncode == 0
    assert len(pip_calls(project)) == calls
    # With mysqlclient is more than that: installed when asked for (here a venv that has
    # MySQLdb already, so the build check is skipped whatever this machine has).
    with_mysql = run(project, "ensure_venv requirements-dev.txt with-mysql", FAKE_HAS_MYSQLDB="0")
    assert with_mysql.returncode == 0, with_mysql.stderr
    assert len(pip_calls(project)) > calls


def test_asking_for_mysql_without_the_headers_names_them_before_pip_runs(
    project: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-pkgconfig"
    empty.mkdir()
    result = run(
        project,
        "ensure_venv requirements-dev.txt with-mysql; echo rc=$?",
        PKG_CONFIG_PATH=str(empty),
        PKG_CONFIG_LIBDIR=str(empty),
    )
    if shutil.which("pkg-config") is None:
        assert "Missing: pkg-config" in result.stderr
    else:
        assert "the MariaDB client headers (libmariadb-dev)" in result.stderr
    assert "apt install libmariadb-dev pkg-config" in result.stderr
    assert "rc=1" in result.stdout
    assert pip_calls(project) == [] and stamps(project) == []


@pytest.mark.parametrize(
    ("url", "mysql"),
    [
        ("mysql://root@127.0.0.1:3306/zias", True),
        ("mariadb://root@db/zias", True),
        ("sqlite:///var/zias.sqlite3", False),
        ("", False),
    ],
)
def test_uses_mysql_reads_the_database_url(project: Path, url: str, mysql: bool) -> None:
    result = run(project, "uses_mysql && echo yes || echo no", DATABASE_URL=url)
    assert result.stdout.strip() == ("yes" if mysql else "no")
