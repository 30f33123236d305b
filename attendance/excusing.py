"""Excuses from submission to decision. Approving marks the covered records `excused`
through the one door (attendance.services.correct_attendances: manual, with a revision and
an audit entry), for past sessions and for sessions not yet held alike: a record created in
advance is manual, so the engine's replay and finalising keep its status.

Views, the API and the admin check nothing themselves beyond who is asking: the rules of
who may submit and decide are here, beside the writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from attendance import services
from attendance.api.access import is_staff, may_correct, student_of, taught_courses
from attendance.days import day_bounds
from attendance.excuse_documents import DocumentRefused, check_document
from attendance.excuse_models import EXCUSE_REASON_MAX
from attendance.models import (
    ClassSession,
    Enrolment,
    Excuse,
    ExcusedSession,
    ExcuseState,
    Status,
    Student,
)

# A date range longer than this is more likely a typo than an illness.
MAX_RANGE = timedelta(days=120)


class ExcuseRefused(ValueError):
    """Bad input: the message says what to fix (answered 400)."""


class ExcuseForbidden(PermissionError):
    """This user may not do this with this excuse (answered 403)."""


@dataclass(frozen=True)
class ExcuseRequest:
    student: Student
    reason: str
    from_date: date | None = None
    to_date: date | None = None
    sessions: tuple[ClassSession, ...] = ()
    document: UploadedFile | None = None


def may_submit_for(user: Any, student: Student) -> bool:
    """Staff for anyone; a student for themselves."""
    if is_staff(user):
        return True
    own = student_of(user)
    return own is not None and own.pk == student.pk


def visible_excuses(user: Any, excuses: QuerySet[Excuse]) -> QuerySet[Excuse]:
    """Staff: all; a teacher: those covering a session of their courses; a student: their own."""
    if is_staff(user):
        return excuses
    taught = list(taught_courses(user).values_list("id", flat=True))
    student = student_of(user)
    visible = Q(pk__in=[])
    if taught:
        visible |= Q(
            pk__in=ExcusedSession.objects.filter(session__course_id__in=taught).values("excuse_id")
        )
    if student is not None:
        visible |= Q(student=student)
    return excuses.filter(visible)


def submit_excuse(request: ExcuseRequest, by: Any) -> Excuse:
    """Store an excuse and the sessions it covers. Raises ExcuseForbidden when `by` may not
    submit for this student, ExcuseRefused for bad input."""
    if not may_submit_for(by, request.student):
        raise ExcuseForbidden("Students may submit excuses only for themselves.")
    covered = covered_sessions(request)
    from_date, to_date = _checked_range(request.from_date, request.to_date)
    with transaction.atomic():
        excuse = Excuse.objects.create(
            student=request.student,
            from_date=from_date,
            to_date=to_date,
            reason=_checked_note(request.reason, "reason", required=True),
            submitted_by=by,
        )
        if request.document is not None:
            excuse.document.save(request.document.name or "document", request.document)
        ExcusedSession.objects.bulk_create(
            ExcusedSession(excuse=excuse, session=session) for session in covered
        )
    return excuse


def covered_sessions(request: ExcuseRequest) -> list[ClassSession]:
    """The sessions the excuse would cover (the chosen ones and the student's sessions in
    the range), after checking the request; raises ExcuseRefused with what to fix."""
    _checked_note(request.reason, "reason", required=True)
    from_date, to_date = _checked_range(request.from_date, request.to_date)
    if from_date is None and not request.sessions:
        raise ExcuseRefused("give a date range (from, to) or the sessions it is for")
    enrolled = set(
        Enrolment.objects.filter(student=request.student).values_list("course_id", flat=True)
    )
    for session in request.sessions:
        if session.course_id not in enrolled:
            raise ExcuseRefused(
                f"session {session.pk}: {request.student.number} is not enrolled in its course"
            )
        if session.cancelled:
            raise ExcuseRefused(f"session {session.pk} is cancelled")
    covered = {s.pk: s for s in request.sessions}
    if from_date is not None and to_date is not None:
        covered.update({s.pk: s for s in _sessions_between(enrolled, from_date, to_date)})
    if not covered:
        raise ExcuseRefused(
            f"no sessions of {request.student.number}'s courses fall between "
            f"{from_date} and {to_date}"
        )
    if request.document is not None:
        try:
            check_document(request.document)
        except DocumentRefused as refused:
            raise ExcuseRefused(str(refused)) from None
    return sorted(covered.values(), key=lambda s: (s.starts_at, s.pk))


def approve_excuse(excuse: Excuse, by: Any, note: str = "", now: datetime | None = None) -> int:
    """Approve the pending sessions of `excuse` that `by` may decide (a teacher their own
    courses', staff all) and mark those records `excused`; returns how many sessions."""
    return _decide(excuse, by, ExcuseState.APPROVED, _checked_note(note, "note"), now)


def reject_excuse(excuse: Excuse, by: Any, note: str, now: datetime | None = None) -> int:
    """Reject the pending sessions `by` may decide, with a note the student sees."""
    return _decide(
        excuse, by, ExcuseState.REJECTED, _checked_note(note, "reason", required=True), now
    )


def _decide(excuse: Excuse, by: Any, state: str, note: str, now: datetime | None) -> int:
    now = now or timezone.now()
    with transaction.atomic():
        # Two deciders of one excuse take turns; the engine never locks excuses, so taking
        # this row before the students (inside correct_attendances) cannot deadlock with it.
        excuse = Excuse.objects.select_for_update().select_related("student").get(pk=excuse.pk)
        covered = list(
            excuse.covered.select_related("session__room", "session__course").order_by(
                "session__starts_at", "session_id"
            )
        )
        mine = [c for c in covered if may_correct(by, c.session)]
        if not mine:
            raise ExcuseForbidden(
                "Only staff and the teachers of the courses an excuse covers may decide it."
            )
        pending = [c for c in mine if c.state == ExcuseState.PENDING]
        if not pending:
            raise ExcuseRefused("the sessions you may decide on this excuse are already decided")
        if state == ExcuseState.APPROVED:
            _mark_excused(excuse, [c.session for c in pending], by)
        for decision in pending:
            decision.state, decision.decided_by, decision.decided_at = state, by, now
            decision.note = note
        ExcusedSession.objects.bulk_update(pending, ["state", "decided_by", "decided_at", "note"])
        excuse.state = _state_of(c.state for c in covered)
        excuse.decided_by, excuse.decided_at, excuse.decision_note = by, now, note
        excuse.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    return len(pending)


def _mark_excused(excuse: Excuse, sessions: list[ClassSession], by: Any) -> None:
    reason = f"excuse {excuse.pk}: {excuse.reason}"[: services.REASON_MAX]
    for session in sessions:
        try:
            services.correct_attendances(session, [(excuse.student, Status.EXCUSED)], by, reason)
        except services.CorrectionRefused as refused:
            raise ExcuseRefused(f"session {session.pk}: {refused}") from None


def _state_of(states: Iterable[str]) -> str:
    """Pending while any session is undecided; approved if any was approved; else rejected."""
    states = list(states)
    if ExcuseState.PENDING in states:
        return ExcuseState.PENDING
    if ExcuseState.APPROVED in states:
        return ExcuseState.APPROVED
    return ExcuseState.REJECTED


def _sessions_between(course_ids: set[int], first: date, last: date) -> list[ClassSession]:
    lo, _ = day_bounds(first)
    _, hi = day_bounds(last)
    return list(
        ClassSession.objects.filter(
            course_id__in=course_ids, cancelled=False, starts_at__gte=lo, starts_at__lt=hi
        )
    )


def _checked_range(first: date | None, last: date | None) -> tuple[date | None, date | None]:
    if first is None and last is None:
        return None, None
    if first is None:
        raise ExcuseRefused("from: give the first day as well as the last")
    last = last or first
    if last < first:
        raise ExcuseRefused("to: the last day is before the first")
    if last - first > MAX_RANGE:
        raise ExcuseRefused(f"to: an excuse covers at most {MAX_RANGE.days} days")
    return first, last


def _checked_note(text: str | None, field: str, required: bool = False) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ExcuseRefused(f"{field}: required")
    if len(text) > EXCUSE_REASON_MAX:
        raise ExcuseRefused(f"{field}: at most {EXCUSE_REASON_MAX} characters")
    return text
