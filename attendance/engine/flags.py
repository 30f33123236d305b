"""Saving derived anti-proxy findings so that recomputing replaces them, never duplicates.

Each derived kind is replaced over exactly the scope it was recomputed for: impossible
travel per student-day, multi-card per tap, tap-missing per (session, student).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import Q

from attendance.engine.days import day_bounds
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


def _replace(query: Q, rows: list[ProxyFlag]) -> set[Pair]:
    """Delete what `query` matches, insert `rows`; the (session, student) pairs touched."""
    old = ProxyFlag.objects.filter(query)
    pairs = {(s, st) for s, st in old.values_list("session_id", "student_id") if s and st}
    old.delete()
    ProxyFlag.objects.bulk_create(rows)
    return pairs | {(r.session_id, r.student_id) for r in rows if r.session_id and r.student_id}


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
