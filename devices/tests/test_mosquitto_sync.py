"""`manage.py mosquitto_sync`: files, summary, reload, and clear errors."""

from __future__ import annotations

import grp
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pytest_django.fixtures import SettingsWrapper

from devices.broker_auth import ACL_FILE, PASSWORD_FILE
from devices.credentials import mosquitto_hash
from tests.factories import make_reader, make_room

INGEST_URL = "mqtt://zias-ingest:ingest-pw@mosquitto:1883"


@pytest.fixture(autouse=True)
def ingest_url(settings: SettingsWrapper) -> None:
    settings.MQTT_URL = INGEST_URL
    settings.MQTT_TOPIC_PREFIX = "zias"


def sync(out: Path, *extra: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("mosquitto_sync", "--out", str(out), *extra, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


@pytest.mark.django_db
def test_it_writes_both_files_readable_by_owner_and_group_only(tmp_path: Path) -> None:
    room = make_room()
    make_reader(room, "door-1", mqtt_password_hash=mosquitto_hash("pw"))
    make_reader(room, "door-2", enabled=False, mqtt_password_hash=mosquitto_hash("pw"))
    out = tmp_path / "auth"

    stdout, _ = sync(out)

    assert sorted(p.name for p in out.iterdir()) == [ACL_FILE, PASSWORD_FILE]
    for name in [ACL_FILE, PASSWORD_FILE]:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o640
    assert "user door-1\n" in (out / ACL_FILE).read_text()
    assert "door-2" not in (out / ACL_FILE).read_text() + (out / PASSWORD_FILE).read_text()
    assert "Broker users: 2 (ingest: 1, readers: 1, phones: 0)." in stdout
    assert "Left out, disabled reader: 1 (door-2)." in stdout
    assert f"{out / PASSWORD_FILE}: written" in stdout


@pytest.mark.django_db
def test_a_second_run_with_nothing_changed_leaves_the_files_alone(tmp_path: Path) -> None:
    make_reader(make_room(), "door-1", mqtt_password_hash=mosquitto_hash("pw"))
    sync(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in [ACL_FILE, PASSWORD_FILE]}

    stdout, _ = sync(tmp_path)

    assert f"{tmp_path / PASSWORD_FILE}: unchanged; {tmp_path / ACL_FILE}: unchanged." in stdout
    assert before == {name: (tmp_path / name).read_bytes() for name in before}


@pytest.mark.django_db
def test_a_rotated_credential_changes_the_password_file_only(tmp_path: Path) -> None:
    reader = make_reader(make_room(), "door-1", mqtt_password_hash=mosquitto_hash("old"))
    sync(tmp_path)
    reader.mqtt_password_hash = mosquitto_hash("new")
    reader.save()

    stdout, _ = sync(tmp_path)

    assert f"{tmp_path / PASSWORD_FILE}: written; {tmp_path / ACL_FILE}: unchanged." in stdout
    assert f"door-1:{reader.mqtt_password_hash}\n" in (tmp_path / PASSWORD_FILE).read_text()


@pytest.mark.django_db
def test_collisions_are_warned_about_on_stderr(tmp_path: Path) -> None:
    make_reader(make_room(), "zias-ingest", mqtt_password_hash=mosquitto_hash("pw"))

    stdout, stderr = sync(tmp_path)

    assert "warning: reader zias-ingest: the name is the ingest's." in stderr
    assert "Left out, reader named like another user: 1 (zias-ingest)." in stdout


@pytest.mark.django_db
def test_verbose_output_lists_every_user(tmp_path: Path) -> None:
    make_reader(make_room(), "door-1", mqtt_password_hash=mosquitto_hash("pw"))

    stdout, _ = sync(tmp_path, "--verbosity", "2")

    assert "  ingest zias-ingest" in stdout and "  reader door-1" in stdout


@pytest.mark.django_db
def test_reload_sends_sighup_after_writing(tmp_path: Path) -> None:
    # A stand-in broker that reports what it gets: exits 42 on SIGHUP.
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGHUP, lambda *_: sys.exit(42))\n"
        "print('up', flush=True)\n"
        "time.sleep(30)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"up\n"
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text(str(child.pid))

    stdout, _ = sync(tmp_path / "auth", "--reload", str(pid_file))

    assert child.wait(5) == 42
    assert f"Sent SIGHUP to Mosquitto (pid {child.pid})" in stdout
    assert (tmp_path / "auth" / PASSWORD_FILE).exists()


@pytest.mark.django_db
def test_a_failed_reload_is_an_error_but_the_files_are_written(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"files written, but no reload: .*no such pid file"):
        sync(tmp_path, "--reload", str(tmp_path / "missing.pid"))
    assert (tmp_path / PASSWORD_FILE).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["", "mqtt://mosquitto:1883"])
def test_without_ingest_credentials_it_refuses_and_writes_nothing(
    tmp_path: Path, settings: SettingsWrapper, url: str
) -> None:
    settings.MQTT_URL = url
    with pytest.raises(CommandError, match="MQTT_URL"):
        sync(tmp_path / "auth")
    assert not (tmp_path / "auth").exists()


@pytest.mark.django_db
def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CommandError, match="cannot write the files in"):
        sync(blocker / "auth")


@pytest.mark.django_db
def test_group_gives_the_files_to_that_group(tmp_path: Path) -> None:
    group = grp.getgrgid(os.getgid()).gr_name

    sync(tmp_path, "--group", group)

    assert (tmp_path / PASSWORD_FILE).stat().st_gid == os.getgid()


@pytest.mark.django_db
def test_group_may_be_a_numeric_gid(tmp_path: Path) -> None:
    # As root, a gid that is not ours shows the chown happened (1883: the broker's container gid).
    gid = 1883 if os.geteuid() == 0 else os.getgid()

    sync(tmp_path, "--group", str(gid))

    assert (tmp_path / ACL_FILE).stat().st_gid == gid
    assert (tmp_path / PASSWORD_FILE).stat().st_gid == gid


def test_an_unknown_group_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no group named 'no-such-group-zias'"):
        sync(tmp_path, "--group", "no-such-group-zias")


def test_the_command_refuses_to_run_without_out() -> None:
    with pytest.raises(CommandError, match="--out"):
        call_command("mosquitto_sync")
