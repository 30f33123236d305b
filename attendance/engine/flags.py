"""Saving derived anti-proxy findings so that recomputing replaces them, never duplicates.

Each derived kind is replaced over exactly the scope it was recomputed for: impossible
travel per student-day, multi-card per tap, tap-missing per (session, student).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import Q

from attendance.days import day_bounds
from attendance.engine.loading import SessionRow
from attendance.models import ProxyFlag
from attendance.rules.evidence import Finding
from attendance.rules.proxy import Place

Pair = tuple[int, int]


def session_at(room: str, at: datetime, sessions: Iterable[SessionRow]) -> SessionRow | None:
    """The session a moment in a room belongs to: its window includes the early minutes."""
    for s in sessions:
        early = timedelta(minutes=s.info.policy.early_minutes)
        if s.room == room and s.info.starts_at - early <= at < s.info.ends_at:
            return s
    return None


def _rows(
    findings: Iterable[Finding], rooms: dict[str, tuple[int, Place]], sessions: list[SessionRow]
) -> list[ProxyFlag]:
    rows = []
    for f in findings:
        session = session_at(str(f.room), f.at, sessions) if f.room is not None else None
        rows.append(
            ProxyFlag(
                kind=f.kind,
                key=f.key,
                student_id=f.student,
                room_id=rooms[str(f.room)][0] if f.room in rooms else None,
                session_id=session.id if session else None,
                at=f.at,
                detail=f.detail[:300],
                evidence=f.evidence,
            )
        )
    return rows


# What makes two flags the same finding; a re-judged finding equal to the held one is kept.
_SAME = ("kind", "key", "student_id", "room_id", "session_id", "at", "detail")


def _replace(query: Q, rows: list[ProxyFlag]) -> set[Pair]:
    """Make the flags `query` matches equal to `rows`; the (session, student) pairs whose
    flags changed.

    Re-judging mostly finds what is already held (a busy door's taps are judged again with
    every new event near them), so equal flags stay untouched: no write, and their records
    need no recomputing.
    """
    wanted: dict[tuple, list[ProxyFlag]] = defaultdict(list)
    for row in rows:
        wanted[_identity(row.__dict__)].append(row)
    stale: list[int] = []
    pairs: set[tuple[int | None, int | None]] = set()
    for held in ProxyFlag.objects.filter(query).values("id", "evidence", *_SAME):
        same = wanted.get(_identity(held))
        if same:
            same.pop()
        else:
            stale.append(held["id"])
            pairs.add((held["session_id"], held["student_id"]))
    if stale:
        ProxyFlag.objects.filter(id__in=stale).delete()
    fresh = [row for same in wanted.values() for row in same]
    ProxyFlag.objects.bulk_create(fresh)
    pairs |= {(r.session_id, r.student_id) for r in fresh}
    touched: set[Pair] = set()
    for session, student in pairs:
        if session and student:
            touched.add((session, student))
    return touched


def _identity(flag: dict) -> tuple:
    return (*(flag[f] for f in _SAME), json.dumps(flag["evidence"], sort_keys=True))


def replace_day_findings(
    kind: str,
    findings_by_day: dict[tuple[int, date], list[Finding]],
    rooms: dict[str, tuple[int, Place]],
    sessions: list[SessionRow],
) -> set[Pair]:
    if not findings_by_day:
        return set()
    by_day: dict[date, set[int]] = {}
    for student, day in findings_by_day:
        by_day.setdefault(day, set()).add(student)
    scope = Q()
    for day, students in by_day.items():
        lo, hi = day_bounds(day)
        scope |= Q(student_id__in=students, at__gte=lo, at__lt=hi)
    # BLE-derived flags of the same kind (keys `ble:...`) are the BLE replay's to replace.
    scope &= ~Q(key__startswith="ble:")
    rows = _rows((f for fs in findings_by_day.values() for f in fs), rooms, sessions)
    if not rows and not ProxyFlag.objects.filter(scope, kind=kind).exists():
        return set()  # the common case: nothing held, nothing found
    return _replace(scope & Q(kind=kind), rows)


def replace_keyed_findings(
    kind: str,
    keys: set[str],
    findings: list[Finding],
    rooms: dict[str, tuple[int, Place]],
    sessions: list[SessionRow],
) -> set[Pair]:
    if not keys:
        return set()
    rows = _rows(findings, rooms, sessions)
    return _replace(Q(kind=kind, key__in=keys), rows)
