"""Attendance warnings: found by the ingest's tick, sent by email once per level and student.

A check runs at most every WARN_CHECK_SECONDS (one ingest worker at a time: a row lock on
its cursor, taken with SKIP LOCKED). It looks only at the students whose records of ended
sessions changed since the previous check (a session finalised, a late tap, an excuse), and
at every student of a course whose thresholds changed, so its cost follows the day's
changes, not the size of the school. For each of them it

- makes the warnings now due: the rate (the contract's rule, attendance.rules.rates) below
  the course's `warn_below_pct` after at least `warn_min_sessions` ended sessions; the latest
  run of absences reaching `warn_consecutive_absences`, then twice as many, and so on;
- withdraws the warnings whose cause a later change removed: an absence it named is now
  excused or attended, or the rate as of then is no longer below the threshold. A warning
  not yet sent is cancelled; a sent one gets a short withdrawal notice. Neither is sent again.

Then it sends what waits (attendance.warning_mail), each row claimed under its own lock, so
a rerun never sends a warning twice; a failed send stays waiting for the next check.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from attendance.models import (
    AttendanceRecord,
    AttendanceWarning,
    ClassSession,
    Course,
    EngineCursor,
    Enrolment,
    Status,
)
from attendance.rules.rates import attendance_rate
from attendance.rules.warnings import Mark, absence_level, latest_absence_run, still_all_absent
from attendance.warning_mail import MailFailed, deliver, local_when
from attendance.warning_models import WarningKind, WarningState

log = logging.getLogger(__name__)

CURSOR = "warnings"
# Records are stamped when they are computed, a moment before their transaction commits; a
# check looks this far behind its previous one so that no commit slips between two checks.
OVERLAP = timedelta(minutes=2)
# The first check on a database looks at every record (there is no previous check).
FIRST_CHECK_FROM = datetime(2000, 1, 1, tzinfo=UTC)
SENDS_PER_CHECK = 100
ATTENDED = (Status.PRESENT, Status.LATE)


@dataclass
class CheckOutcome:
    ran: bool = False
    students_checked: int = 0
    created: int = 0
    withdrawn: int = 0
    sent: int = 0
    failed: int = 0


@dataclass(frozen=True)
class EndedSession:
    id: int
    starts_at: datetime
    ends_at: datetime
    room: str


def check_warnings(now: datetime) -> CheckOutcome:
    """The tick's step: find and withdraw warnings when a check is due, then send them.

    A database error goes up to the tick (which resets the connection); any other failure
    here is logged and the ingest goes on: warnings must never stop attendance."""
    try:
        return _check_and_send(now)
    except DatabaseError:
        raise
    except Exception:
        log.exception("the attendance warnings check failed; the next check tries again")
        return CheckOutcome()


def _check_and_send(now: datetime) -> CheckOutcome:
    outcome = CheckOutcome()
    with transaction.atomic():
        cursor = _due_cursor(now)
        if cursor is None:
            return outcome
        outcome.ran = True
        since = cursor.position - OVERLAP if cursor.position > FIRST_CHECK_FROM else cursor.position
        for course, students in _students_to_check(since, now):
            _check_course(course, students, now, outcome)
        cursor.position = now
        cursor.save(update_fields=["position", "updated_at"])
    send_waiting_warnings(now, outcome)
    if outcome.created or outcome.withdrawn or outcome.failed:
        log.info(
            "warnings: %d new, %d withdrawn, %d sent, %d failed to send",
            outcome.created,
            outcome.withdrawn,
            outcome.sent,
            outcome.failed,
        )
    return outcome


def _due_cursor(now: datetime) -> EngineCursor | None:
    """The check's cursor, locked, when a check is due; None when it is not, or another
    worker is checking (a database without SKIP LOCKED waits for that one instead)."""
    skip = connection.features.has_select_for_update_skip_locked
    rows = EngineCursor.objects.select_for_update(skip_locked=skip).filter(name=CURSOR)
    cursor = rows.first()
    if cursor is None:
        if skip and EngineCursor.objects.filter(name=CURSOR).exists():
            return None
        EngineCursor.objects.bulk_create(
            [EngineCursor(name=CURSOR, position=FIRST_CHECK_FROM)], ignore_conflicts=True
        )
        cursor = EngineCursor.objects.select_for_update().filter(name=CURSOR).first()
    if cursor is None or now - cursor.position < timedelta(seconds=settings.WARN_CHECK_SECONDS):
        return None
    return cursor


def _students_to_check(since: datetime, now: datetime) -> list[tuple[Course, set[int]]]:
    """Per course with warnings on: the students whose ended sessions' records changed
    since `since`, or all its students if its thresholds changed."""
    warned = Q(warn_below_pct__isnull=False) | Q(warn_consecutive_absences__isnull=False)
    courses = {c.id: c for c in Course.objects.filter(warned)}
    students: dict[int, set[int]] = defaultdict(set)
    if since <= FIRST_CHECK_FROM:  # the first check: every enrolled student, no record scan
        for course_id, student_id in Enrolment.objects.filter(course_id__in=courses).values_list(
            "course_id", "student_id"
        ):
            students[course_id].add(student_id)
        return [(courses[c], students[c]) for c in sorted(students)]
    changed = (
        AttendanceRecord.objects.filter(
            updated_at__gt=since,
            session__ends_at__lte=now,
            session__cancelled=False,
            session__course_id__in=courses,
        )
        .order_by()
        .values_list("session__course_id", "student_id")
        .distinct()
    )
    for course_id, student_id in changed:
        students[course_id].add(student_id)
    repolicied = [
        c.id
        for c in courses.values()
        if c.warn_policy_changed_at is not None and c.warn_policy_changed_at > since
    ]
    for course_id, student_id in Enrolment.objects.filter(course_id__in=repolicied).values_list(
        "course_id", "student_id"
    ):
        students[course_id].add(student_id)
    return [(courses[c], students[c]) for c in sorted(students)]


def _check_course(course: Course, students: set[int], now: datetime, outcome: CheckOutcome) -> None:
    sessions = [
        EndedSession(*row)
        for row in ClassSession.objects.filter(course=course, ends_at__lte=now, cancelled=False)
        .order_by("starts_at", "id")
        .values_list("id", "starts_at", "ends_at", "room__code")
    ]
    # By the course's session ids: the (session, student) index reads only this course's
    # records (by student, it would read every course of each student's).
    statuses = {
        (session_id, student_id): status
        for session_id, student_id, status in AttendanceRecord.objects.filter(
            session_id__in=[s.id for s in sessions], student_id__in=students
        )
        .order_by()
        .values_list("session_id", "student_id", "status")
    }
    known: dict[int, list[AttendanceWarning]] = defaultdict(list)
    for warning in AttendanceWarning.objects.filter(course=course, student_id__in=students):
        known[warning.student_id].append(warning)
    for student_id in sorted(students):
        outcome.students_checked += 1
        marks = [Mark(s.id, s.ends_at, statuses.get((s.id, student_id))) for s in sessions]
        for warning in known[student_id]:
            if warning.live and not _cause_stands(warning, marks, statuses):
                _withdraw(warning, marks, statuses, now)
                outcome.withdrawn += 1
        new = [
            _rate_warning(course, student_id, marks, sessions),
            _absence_warning(course, student_id, marks, sessions, known[student_id]),
        ]
        for found in new:
            if found is not None and not any(w.key == found.key for w in known[student_id]):
                found.save()
                known[student_id].append(found)
                outcome.created += 1


def _rate(marks: list[Mark]) -> float | None:
    attended = sum(1 for m in marks if m.status in ATTENDED)
    excused = sum(1 for m in marks if m.status == Status.EXCUSED)
    return attendance_rate(attended, len(marks), excused)


def _rate_warning(
    course: Course, student_id: int, marks: list[Mark], sessions: list[EndedSession]
) -> AttendanceWarning | None:
    threshold = course.warn_below_pct
    if threshold is None or len(marks) < course.warn_min_sessions:
        return None
    rate = _rate(marks)
    if rate is None or rate >= threshold:
        return None
    missed = [m for m in marks if m.status not in (*ATTENDED, Status.EXCUSED)]
    return AttendanceWarning(
        course=course,
        student_id=student_id,
        kind=WarningKind.RATE_BELOW,
        level=threshold,
        key=f"rate:{course.id}:{student_id}:{threshold}",
        as_of=marks[-1].ends_at,
        sessions_ended=len(marks),
        rate=rate,
        missed=_describe(missed, sessions),
    )


def _absence_warning(
    course: Course,
    student_id: int,
    marks: list[Mark],
    sessions: list[EndedSession],
    known: list[AttendanceWarning],
) -> AttendanceWarning | None:
    every = course.warn_consecutive_absences
    if every is None:
        return None
    run = latest_absence_run(marks)
    level = absence_level(len(run), every)
    if level == 0:
        return None
    # Each level of a run is warned about once, and only the highest a check finds (a run
    # first seen at six warns once, not at three and six). A withdrawn warning does not
    # count: its run had an absence that is no longer one, so this run is another.
    prefix = f"streak:{course.id}:{student_id}:{run[0].session_id}:"
    if any(w.key.startswith(prefix) and w.level >= level and w.live for w in known):
        return None
    named = run[:level]
    return AttendanceWarning(
        course=course,
        student_id=student_id,
        kind=WarningKind.ABSENCE_STREAK,
        level=level,
        key=f"{prefix}{named[-1].session_id}:{level}",
        as_of=named[-1].ends_at,
        sessions_ended=sum(1 for m in marks if m.ends_at <= named[-1].ends_at),
        rate=_rate([m for m in marks if m.ends_at <= named[-1].ends_at]),
        missed=_describe(named, sessions),
    )


def _cause_stands(
    warning: AttendanceWarning,
    marks: list[Mark],
    statuses: dict[tuple[int, int], str],
) -> bool:
    if warning.kind == WarningKind.ABSENCE_STREAK:
        named = [entry["id"] for entry in warning.missed]
        return still_all_absent(
            [statuses.get((session_id, warning.student_id)) for session_id in named]
        )
    # A rate warning stands while the rate as of then, counted again, is still below.
    then = [m for m in marks if m.ends_at <= warning.as_of]
    rate = _rate(then)
    return rate is not None and rate < warning.level


def _withdraw(
    warning: AttendanceWarning,
    marks: list[Mark],
    statuses: dict[tuple[int, int], str],
    now: datetime,
) -> None:
    if warning.kind == WarningKind.ABSENCE_STREAK:
        changed = [
            f"{local_when(entry['starts_at'])} is now "
            f"{statuses.get((entry['id'], warning.student_id)) or 'without a record'}"
            for entry in warning.missed
            if statuses.get((entry["id"], warning.student_id)) != "absent"
        ]
        because = "a session it named changed: " + "; ".join(changed)
    else:
        rate = _rate([m for m in marks if m.ends_at <= warning.as_of])
        because = f"counted again, the rate then is {rate}%, not below {warning.level}%"
    warning.state = (
        WarningState.CANCELLED if warning.state == WarningState.PENDING else WarningState.RETRACTING
    )
    warning.withdrawn_at = now
    warning.withdrawn_because = because[:300]
    warning.save(update_fields=["state", "withdrawn_at", "withdrawn_because"])


def _describe(marks: list[Mark], sessions: list[EndedSession]) -> list[dict]:
    by_id = {s.id: s for s in sessions}
    return [
        {
            "id": m.session_id,
            "starts_at": by_id[m.session_id].starts_at.isoformat(),
            "ends_at": by_id[m.session_id].ends_at.isoformat(),
            "room": by_id[m.session_id].room,
            "status": m.status or "no record",
        }
        for m in marks
    ]


def send_waiting_warnings(now: datetime, outcome: CheckOutcome | None = None) -> CheckOutcome:
    """Send the warnings and withdrawal notices that wait, each claimed under its row lock
    and marked in the same transaction; stops at the first failure to reach the server."""
    outcome = outcome or CheckOutcome()
    waiting = WarningState.PENDING, WarningState.RETRACTING
    ids = list(
        AttendanceWarning.objects.filter(state__in=waiting)
        .order_by("id")
        .values_list("id", flat=True)[:SENDS_PER_CHECK]
    )
    skip = connection.features.has_select_for_update_skip_locked
    for warning_id in ids:
        with transaction.atomic():
            # Only the warning's row is locked: a lock on the student's row would make the
            # ingest's batches wait for the mail server.
            warning = (
                AttendanceWarning.objects.select_for_update(skip_locked=skip)
                .filter(id=warning_id, state__in=waiting)
                .first()
            )
            if warning is None:
                continue  # sent or withdrawn meanwhile
            try:
                recipients = deliver(warning)
            except MailFailed as exc:
                warning.attempts += 1
                warning.last_error = str(exc)[:300]
                warning.save(update_fields=["attempts", "last_error"])
                outcome.failed += 1
                log.warning("warning %s not sent (%s); trying again later", warning.key, exc)
                if exc.server_unreachable:
                    break
                continue
            _mark_delivered(warning, recipients, now)
            outcome.sent += 1
    return outcome


def _mark_delivered(warning: AttendanceWarning, recipients: list[str], now: datetime) -> None:
    warning.attempts += 1
    warning.last_error = "" if recipients else "nobody to send it to: no address is known"
    if warning.state == WarningState.PENDING:
        warning.state = WarningState.SENT
        warning.sent_at = now
        warning.recipients = recipients
    else:
        warning.state = WarningState.RETRACTED
        warning.notice_sent_at = now
    warning.save()
