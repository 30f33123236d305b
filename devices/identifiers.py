"""The identifier forms fixed by the wire contract, in one place for models and validation."""

from __future__ import annotations

import re

from django.core.validators import RegexValidator

# Device and phone ids double as MQTT usernames and client ids.
SENDER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
# 4, 7 or 10 bytes of hex, once separators are gone.
_UID_HEX_LENGTHS = {8, 14, 20}
_UID_SEPARATORS = re.compile(r"[:\- ]")
_HEX = re.compile(r"^[0-9A-F]+$")

sender_id_validator = RegexValidator(
    SENDER_ID_RE, "Lowercase letters, digits and '-', 2 to 64 characters, not starting with '-'."
)


class InvalidUid(ValueError):
    """A card UID that is not 4, 7 or 10 bytes of hex."""


def normalise_uid(raw: str) -> str:
    """'04:a1:b2:c3' and '04A1B2C3' are the same card: upper case, no separators."""
    uid = _UID_SEPARATORS.sub("", raw).upper()
    if len(uid) not in _UID_HEX_LENGTHS or not _HEX.match(uid):
        raise InvalidUid(f"uid must be 4, 7 or 10 bytes of hex, got {raw!r}")
    return uid
