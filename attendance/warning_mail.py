"""The email of an attendance warning (or of its withdrawal), and the one place that sends
it, through Django's email framework (EMAIL_URL); failures come back as MailFailed."""

from __future__ import annotations

import smtplib
from datetime import datetime

from django.core.mail import EmailMessage
from django.utils import timezone

from attendance.models import AttendanceWarning, Course, Student
from attendance.warning_models import WarningKind, WarningState

# Errors that say the server itself is unreachable: no point trying the next message now.
UNREACHABLE = (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, ConnectionError, OSError)


class MailFailed(Exception):
    def __init__(self, message: str, server_unreachable: bool) -> None:
        super().__init__(message)
        self.server_unreachable = server_unreachable


def local_when(iso: str) -> str:
    """'Mon 02 Mar 2026 09:00' in the school's zone."""
    return f"{timezone.localtime(datetime.fromisoformat(iso)):%a %d %b %Y %H:%M}"


def recipients_of(course: Course, student: Student) -> tuple[list[str], list[str]]:
    """(to, cc): the student, then the course's teachers and extra addresses, each once."""
    teachers = course.teachers.exclude(email="").order_by("username")
    teacher_addresses = teachers.values_list("email", flat=True)
    others: list[str] = []
    for address in [*teacher_addresses, *course.extra_warning_addresses]:
        if address not in others and address != student.email:
            others.append(address)
    if student.email:
        return [student.email], others
    return others, []


def _what(warning: AttendanceWarning) -> str:
    if warning.kind == WarningKind.ABSENCE_STREAK:
        return f"{warning.level} absences in a row"
    return f"attendance {warning.rate}% (below {warning.level}%)"


def _session_lines(warning: AttendanceWarning) -> list[str]:
    return [
        f"  - {local_when(entry['starts_at'])}-{local_when(entry['ends_at'])[-5:]}, "
        f"room {entry['room']}: {entry['status'].replace('_', ' ')}"
        for entry in warning.missed
    ]


def compose(warning: AttendanceWarning, course: Course, student: Student) -> EmailMessage:
    name = f"{student.full_name} ({student.number})"
    if warning.state == WarningState.RETRACTING:
        subject = f"Withdrawn: attendance warning for {name} in {course.code}"
        sent = timezone.localtime(warning.sent_at) if warning.sent_at else None
        lines = [
            f"The attendance warning{f' of {sent:%a %d %b %Y}' if sent else ''} for {name} "
            f"in {course.code} {course.name} ({_what(warning)}) is withdrawn:",
            f"{warning.withdrawn_because}.",
            "",
            "Nothing else needs to be done.",
        ]
    else:
        subject = f"Attendance warning: {name} in {course.code}: {_what(warning)}"
        if warning.kind == WarningKind.ABSENCE_STREAK:
            opening = f"{name} has missed {warning.level} sessions of {course.code} in a row:"
        else:
            opening = (
                f"{name} has attended {warning.rate}% of the {warning.sessions_ended} sessions "
                f"of {course.code} so far, below the course's {warning.level}%. Sessions missed:"
            )
        lines = [
            opening,
            *_session_lines(warning),
            "",
            "Excused sessions are not counted. If a session above is wrong, please ask the "
            "course's teacher or the school office to correct it; this warning is then "
            "withdrawn.",
        ]
    to, cc = recipients_of(course, student)
    message = EmailMessage(
        subject=subject,
        body="\n".join([f"{course.code} {course.name}", "", *lines, "", "-- ZIAS attendance"]),
        to=to,
        cc=cc,
        headers={"X-ZIAS-Warning": warning.key},
    )
    return message


def deliver(warning: AttendanceWarning) -> list[str]:
    """Send the warning (or its withdrawal notice); the addresses it went to."""
    course = Course.objects.get(pk=warning.course_id)
    student = Student.objects.get(pk=warning.student_id)
    message = compose(warning, course, student)
    recipients = message.recipients()
    if not recipients:
        return []
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPException as exc:
        raise MailFailed(f"{type(exc).__name__}: {exc}", isinstance(exc, UNREACHABLE)) from exc
    except OSError as exc:
        raise MailFailed(f"cannot reach the mail server: {exc}", True) from exc
    return recipients
