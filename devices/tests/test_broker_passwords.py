"""Our hashes are exactly Mosquitto's: checked against the mosquitto_passwd that ships with it.

The other direction, Mosquitto accepting the hashes we make, is shown by the live broker
tests (test_broker_acl_live.py), where every login goes through a file we wrote.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from devices.credentials import PBKDF2_ITERATIONS, mosquitto_hash, verify_password
from devices.tests.mosquitto_harness import tool


def mosquitto_passwd_hash(tmp_path: Path, password: str, *options: str) -> str:
    """The hash mosquitto_passwd writes for `password` (batch mode, a fresh file)."""
    path = tmp_path / "passwd"
    subprocess.run(
        [tool("mosquitto_passwd", "MOSQUITTO_PASSWD_BIN"), *options, "-c", "-b", str(path),
         "someone", password],
        check=True,
        capture_output=True,
    )  # fmt: skip
    username, _, stored = path.read_text().strip().partition(":")
    assert username == "someone"
    return stored


def fields(stored: str) -> tuple[str, int, bytes, bytes]:
    _, scheme, iterations, salt, digest = stored.split("$")
    return scheme, int(iterations), base64.b64decode(salt), base64.b64decode(digest)


@pytest.mark.parametrize(
    "password", ["s3cret", "Ünïcödé pässwörd", "with:colon and $dollar", "x" * 200]
)
def test_we_verify_what_mosquitto_passwd_writes(tmp_path: Path, password: str) -> None:
    stored = mosquitto_passwd_hash(tmp_path, password)

    assert verify_password(password, stored)
    assert not verify_password(password + "!", stored)


def test_we_verify_mosquitto_passwd_hashes_at_our_iteration_count(tmp_path: Path) -> None:
    stored = mosquitto_passwd_hash(tmp_path, "s3cret", "-I", str(PBKDF2_ITERATIONS))

    assert fields(stored)[1] == PBKDF2_ITERATIONS
    assert verify_password("s3cret", stored)


def test_our_hash_has_mosquitto_passwds_shape(tmp_path: Path) -> None:
    theirs = fields(mosquitto_passwd_hash(tmp_path, "s3cret"))
    ours = fields(mosquitto_hash("s3cret"))

    assert ours[0] == theirs[0] == "7"  # PBKDF2-SHA512
    assert len(ours[2]) == len(theirs[2])  # salt bytes
    assert len(ours[3]) == len(theirs[3])  # digest bytes


def test_with_mosquitto_passwds_salt_and_iterations_we_compute_its_exact_hash(
    tmp_path: Path,
) -> None:
    stored = mosquitto_passwd_hash(tmp_path, "s3cret")
    _, iterations, salt, _ = fields(stored)

    assert mosquitto_hash("s3cret", salt=salt, iterations=iterations) == stored
