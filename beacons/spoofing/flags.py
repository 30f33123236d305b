"""The flag every detector returns; its kinds are attendance.flag_kinds'."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Flag:
    kind: str
    at: datetime
    subject: str  # a phone id or a student number
    detail: str  # one line for a person
    evidence: dict[str, object] = field(default_factory=dict)  # JSON-able
    room: str | None = None


def iso(at: datetime) -> str:
    return at.isoformat()
