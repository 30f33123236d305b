"""MQTT credentials for readers and phones: made once, shown once, stored only as a hash.

The hash is in Mosquitto's own password-file format (PBKDF2-SHA512, `$7$iterations$salt$hash`)
so `mosquitto_sync` can write the broker's password file straight from the database, and the
HTTP API can check the same credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# Mosquitto's default is 101; more iterations cost the broker only at connect time.
PBKDF2_ITERATIONS = 10_000
_SALT_BYTES = 12
_HASH_BYTES = 64


def new_password() -> str:
    """A random password a device can be configured with (URL- and shell-safe)."""
    return secrets.token_urlsafe(24)


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches a `$7$` hash; False for anything else, never an error."""
    try:
        _, scheme, iterations, salt_b64, digest_b64 = stored.split("$")
        if scheme != "7":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        actual = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), salt, int(iterations), len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
