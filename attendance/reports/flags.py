"""Flags: the anti-proxy flags of the period by kind, course and student, with evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from attendance.models import Course, FlagKind, ProxyFlag, Student
from attendance.reports.period import Period
from attendance.reports.scope import Scope
from attendance.reports.tables import Column, Kind, Table, text

LISTED_MAX = 500  # flags listed in the JSON answer; the exports hold them all


@dataclass
class FlagsReport:
    period: Period
    total: int
    by_kind: dict[str, int]
    by_course: dict[str, int]
    by_student: dict[str, int]
    flags: list[ProxyFlag]  # newest first, at most LISTED_MAX
    queryset: QuerySet[ProxyFlag]  # all of them, for the exports


def visible_flags(scope: Scope) -> QuerySet[ProxyFlag]:
    return scope.of_sessions(ProxyFlag.objects.all())


def flags_report(
    scope: Scope,
    period: Period,
    kind: str = "",
    course: Course | None = None,
    student: Student | None = None,
) -> FlagsReport:
    flags = period.narrow(visible_flags(scope), "at")
    if kind:
        flags = flags.filter(kind=kind)
    if course is not None:
        flags = flags.filter(session__course=course)
    if student is not None:
        flags = flags.filter(student=student)

    def grouped(field: str) -> dict[str, int]:
        rows = flags.order_by().values_list(field).annotate(n=Count("id"))
        return {key or "": n for key, n in sorted(rows, key=lambda r: (r[0] or ""))}

    by_kind = grouped("kind")
    listed = list(
        flags.select_related("student", "room", "session__course").order_by("-at", "-id")[
            :LISTED_MAX
        ]
    )
    return FlagsReport(
        period,
        sum(by_kind.values()),
        by_kind,
        grouped("session__course__code"),
        grouped("student__number"),
        listed,
        flags,
    )


def kind_label(kind: str) -> str:
    return str(dict(FlagKind.choices).get(kind, kind))


def as_table(report: FlagsReport) -> Table:
    columns = [
        Column("at", Kind.DATETIME), text("kind"), text("course"), text("student"),
        text("name"), text("room"), text("detail"), text("evidence"),
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        every = report.queryset.select_related("student", "room", "session__course").order_by(
            "-at", "-id"
        )
        for f in every.iterator(chunk_size=2000):
            yield [
                f.at, f.kind,
                f.session.course.code if f.session else "",
                f.student.number if f.student else "",
                f.student.full_name if f.student else "",
                f.room.code if f.room else "", f.detail, evidence_text(f.evidence),
            ]  # fmt: skip

    return Table("flags", f"Anti-proxy flags, {report.period.describe()}", columns, rows())


def evidence_text(evidence: object) -> str:
    return json.dumps(evidence, sort_keys=True, default=str)
