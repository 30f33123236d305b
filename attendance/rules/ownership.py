"""A card registered after it was tapped: its taps that day count for its owner, flagged so
a teacher can see that the card was unknown when it was used."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from attendance.flag_kinds import REGISTERED_AFTER_TAP
from attendance.rules.evidence import Finding, Tap


def registered_after_tap_findings(
    taps: Iterable[Tap], registered_at: Mapping[str, datetime]
) -> list[Finding]:
    """One finding per tap made before its card's registration (`registered_at` by uid,
    only for cards that were tapped before they were registered)."""
    findings = []
    for tap in taps:
        registered = registered_at.get(tap.uid)
        if registered is None or tap.ts >= registered:
            continue
        findings.append(
            Finding(
                kind=REGISTERED_AFTER_TAP,
                key=f"{REGISTERED_AFTER_TAP}:{tap.key.label()}",
                student=tap.student,
                room=tap.room,
                at=tap.ts,
                detail=f"card {tap.uid} was registered at {registered.isoformat()}, after this tap",
                evidence={
                    "event": tap.key.label(),
                    "uid": tap.uid,
                    "tapped_at": tap.ts.isoformat(),
                    "registered_at": registered.isoformat(),
                },
            )
        )
    return findings
