"""People, places and time: rooms, students, courses, sessions, and what the engine derives.

The rows the engine writes (visits, records, flags) are derived from stored events; the
rows people write (excuses, corrections) are kept apart in the audit trail so a
recomputation never silently overwrites them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
    validate_email,
)
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from attendance import flag_kinds, names


def split_email_list(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def validate_email_list(text: str) -> None:
    for address in split_email_list(text):
        validate_email(address)


ROOM_CODE = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", "A short code such as B-204.")
STUDENT_NUMBER = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", "The school's own id.")


class Room(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[ROOM_CODE])
    name = models.CharField(max_length=120, blank=True)
    capacity = models.PositiveIntegerField(default=30)
    building = models.CharField(
        max_length=60, blank=True, help_text="Rooms in different buildings take longer to reach."
    )
    floor = models.IntegerField(default=0)
    # BLE presence thresholds of this room (beacons.presence.RoomThresholds); empty means
    # the default every room shares. calibrate_room --apply may set them.
    ble_margin_db = models.PositiveSmallIntegerField(
        "BLE margin (dB)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(40)],
        help_text="How far this room's beacons must lead the next room's to enter it, and "
        "how far behind they may fall and still hold it. Empty: the default all rooms share.",
    )
    ble_enter_windows = models.PositiveSmallIntegerField(
        "BLE enter windows",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Scan windows in a row that must point here before a phone enters. "
        "Empty: the default all rooms share.",
    )
    ble_leave_windows = models.PositiveSmallIntegerField(
        "BLE leave windows",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Scan windows in a row that no longer hold before a phone leaves. "
        "Empty: the default all rooms share.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class StudentQuerySet(models.QuerySet["Student"]):
    def active(self) -> StudentQuerySet:
        return self.filter(active=True)


class Student(models.Model):
    number = models.CharField(max_length=32, unique=True, validators=[STUDENT_NUMBER])
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="student",
        help_text="The login the student uses in the app (optional).",
    )
    active = models.BooleanField(default=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "number"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.number})"

    @property
    def full_name(self) -> str:
        return names.full_name(self.first_name, self.last_name)


def default_warn_below_pct() -> int | None:
    return settings.WARN_BELOW_PCT


def default_warn_min_sessions() -> int:
    return settings.WARN_MIN_SESSIONS


def default_warn_consecutive_absences() -> int | None:
    return settings.WARN_CONSECUTIVE_ABSENCES


WARN_POLICY_FIELDS = ("warn_below_pct", "warn_min_sessions", "warn_consecutive_absences")


class Course(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[ROOM_CODE])
    name = models.CharField(max_length=200)
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="taught_courses"
    )
    students: models.ManyToManyField[Student, Enrolment] = models.ManyToManyField(
        Student, through="Enrolment", blank=True, related_name="courses"
    )
    # The attendance policy; defaults are DESIGN's, each one changeable per course.
    grace_minutes = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(240)]
    )
    min_presence_pct = models.PositiveSmallIntegerField(
        default=75, validators=[MaxValueValidator(100)]
    )
    early_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MaxValueValidator(240)],
        help_text="Entering this long before the start counts from the start.",
    )
    tap_required = models.BooleanField(
        default=False, help_text="BLE presence alone is flagged: a card tap is expected."
    )
    # Warnings by email (attendance.warnings); new courses start with the school's defaults.
    warn_below_pct = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=default_warn_below_pct,
        validators=[MaxValueValidator(100)],
        help_text="Warn when a student's rate falls below this percentage (empty: never).",
    )
    warn_min_sessions = models.PositiveSmallIntegerField(
        default=default_warn_min_sessions,
        help_text="...once at least this many of the course's sessions have ended.",
    )
    warn_consecutive_absences = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=default_warn_consecutive_absences,
        help_text="Warn after this many absences in a row, again at twice as many, and so "
        "on (empty: never). Excused sessions are left out.",
    )
    warn_extra_emails = models.TextField(
        blank=True,
        validators=[validate_email_list],
        help_text="Who else gets the warnings besides the student and the teachers: "
        "addresses separated by commas or new lines.",
    )
    warn_policy_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When a warning threshold last changed: the next check looks at every "
        "student of the course again.",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_presence_pct__lte=100), name="course_min_presence_pct_le_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A changed threshold is looked at for every student of the course (not only those
        # whose records change next), so the check needs to know when it changed.
        if self.warn_policy != getattr(self, "_loaded_warn_policy", None):
            self.warn_policy_changed_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "warn_policy_changed_at"}
        super().save(*args, **kwargs)
        self._loaded_warn_policy = self.warn_policy

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Course:
        course = super().from_db(db, field_names, values)
        course._loaded_warn_policy = course.warn_policy  # type: ignore[attr-defined]
        return course

    @property
    def warn_policy(self) -> tuple[int | None, ...]:
        return tuple(getattr(self, name, None) for name in WARN_POLICY_FIELDS)

    @property
    def extra_warning_addresses(self) -> list[str]:
        return split_email_list(self.warn_extra_emails)


class Enrolment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrolments")
    enrolled_at = models.DateTimeField(auto_now_add=True)
    effective_from = models.DateField(
        null=True,
        blank=True,
        help_text="A late enrolment counts from this day (the school's); empty: from the start.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "student"], name="enrolment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.student} in {self.course.code}"


class Term(models.Model):
    name = models.CharField(max_length=80, unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="term_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """Days without classes: no sessions are generated on them."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="holidays")
    name = models.CharField(max_length=80)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="holiday_ends_after_start"
            ),
            # The natural key imports and the API look a holiday up by.
            models.UniqueConstraint(fields=["term", "name"], name="holiday_term_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.starts_on} to {self.ends_on})"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class TimetableSlot(models.Model):
    """A weekly class: every <weekday> from <start> to <end>, wall-clock in the school's zone."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="timetable")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="timetable")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="timetable")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["term", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="slot_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0) & Q(weekday__lte=6), name="slot_weekday_range"
            ),
            # The natural key imports and the API look a slot up by: one course starts once
            # at a given weekday and time in a term.
            models.UniqueConstraint(
                fields=["term", "course", "weekday", "start_time"], name="slot_natural_key"
            ),
        ]

    def __str__(self) -> str:
        day = Weekday(self.weekday).label
        return f"{self.course.code} {day} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class ClassSessionQuerySet(models.QuerySet["ClassSession"]):
    def running_at(self, moment) -> ClassSessionQuerySet:  # type: ignore[no-untyped-def]
        return self.filter(starts_at__lte=moment, ends_at__gt=moment, cancelled=False)

    def watchable_at(self, moment: datetime, margin: timedelta) -> ClassSessionQuerySet:
        """Sessions whose room their teachers may watch live at `moment`: from `margin`
        before the start until `margin` after the end (attendance.api.access decides)."""
        return self.filter(
            starts_at__lte=moment + margin, ends_at__gt=moment - margin, cancelled=False
        )

    def ended_unfinalised(self, moment) -> ClassSessionQuerySet:  # type: ignore[no-untyped-def]
        return self.filter(ends_at__lte=moment, finalised_at__isnull=True, cancelled=False)


class ClassSession(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="sessions")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    slot = models.ForeignKey(
        TimetableSlot,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
        help_text="The weekly slot this session was generated from, if any.",
    )
    cancelled = models.BooleanField(default=False)
    finalised_at = models.DateTimeField(null=True, blank=True)

    objects = ClassSessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["room", "starts_at"], name="session_room_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"
            ),
            models.UniqueConstraint(fields=["course", "starts_at"], name="session_course_start"),
        ]

    def __str__(self) -> str:
        return f"{self.course.code} {self.starts_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        moved = self.pk is not None and not self._state.adding
        super().save(*args, **kwargs)
        if moved:  # keep the records' copy of the start in step (see AttendanceRecord)
            self.records.exclude(session_starts_at=self.starts_at).update(
                session_starts_at=self.starts_at
            )


class VisitSource(models.TextChoices):
    DOOR = "door", "Door reader"
    BLE = "ble", "BLE presence"
    MANUAL = "manual", "Set by staff"


class Visit(models.Model):
    """A person's stay in a room, derived from door events or BLE presence."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="visits")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="visits")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=VisitSource.choices)
    confidence = models.FloatField(null=True, blank=True)
    closed_by_system = models.BooleanField(default=False)
    close_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["entered_at"]
        indexes = [
            models.Index(fields=["student", "entered_at"], name="visit_student_enter"),
            models.Index(fields=["room", "entered_at"], name="visit_room_enter"),
            # The tick looks for open visits every few seconds.
            models.Index(fields=["left_at", "source"], name="visit_open"),
            # realtime/<room> and the live page: who is in this room now.
            models.Index(fields=["room", "left_at"], name="visit_room_open"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=F("entered_at")),
                name="visit_leaves_after_entering",
            )
        ]

    def __str__(self) -> str:
        return f"{self.student.number} in {self.room.code} from {self.entered_at:%H:%M}"


class Status(models.TextChoices):
    PRESENT = "present", "Present"
    LATE = "late", "Late"
    LEFT_EARLY = "left_early", "Left early"
    ABSENT = "absent", "Absent"
    EXCUSED = "excused", "Excused"


class AttendanceRecordQuerySet(models.QuerySet["AttendanceRecord"]):
    def attended(self) -> AttendanceRecordQuerySet:
        return self.filter(status__in=[Status.PRESENT, Status.LATE])


class AttendanceRecord(models.Model):
    """One enrolled student in one session. `status` is what counts; `computed_status` is
    what the evidence says, kept beside a manual override so disagreement stays visible."""

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="records")
    # A copy of session.starts_at (kept in step by ClassSession.save): newest-first is the
    # lists' default order, and on a million records only an index of this table serves it.
    session_starts_at = models.DateTimeField(editable=False)
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="records")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ABSENT)
    computed_status = models.CharField(max_length=12, choices=Status.choices, default=Status.ABSENT)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    minutes_present = models.PositiveIntegerField(default=0)
    flags = models.JSONField(default=list, blank=True)
    manual = models.BooleanField(
        default=False, help_text="Set by a person; recomputation leaves the status alone."
    )
    manual_reason = models.CharField(max_length=300, blank=True)
    revision = models.PositiveIntegerField(default=0)
    finalised = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AttendanceRecordQuerySet.as_manager()

    class Meta:
        ordering = ["session__starts_at", "student__number"]
        indexes = [
            models.Index(fields=["student", "session"], name="record_student_session"),
            models.Index(fields=["status"], name="record_status"),
            models.Index(fields=["-session_starts_at", "id"], name="record_newest_first"),
            # The warnings check reads the records changed since its previous run.
            models.Index(fields=["updated_at"], name="record_updated"),
            # Reports count statuses per session and student: this covers those reads, so
            # a term's million records are counted from the index alone.
            models.Index(
                fields=["session", "status", "student", "session_starts_at"],
                name="record_session_status",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="record_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["present", "late", "left_early", "absent", "excused"]),
                name="record_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student.number} {self.session}: {self.status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.session_starts_at is None:
            self.session_starts_at = self.session.starts_at
        super().save(*args, **kwargs)

    @property
    def evidence_disagrees(self) -> bool:
        return self.manual and self.computed_status != self.status


class RecordRevision(models.Model):
    """What a record was before each change, so a late event's revision can be traced."""

    record = models.ForeignKey(AttendanceRecord, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices)
    minutes_present = models.PositiveIntegerField()
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    flags = models.JSONField(default=list)
    cause = models.CharField(max_length=200)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["record", "revision"], name="revision_unique")
        ]

    def __str__(self) -> str:
        return f"{self.record} r{self.revision}: {self.status}"


class AuditEntry(models.Model):
    """A manual change made by a person: who, when, what and why."""

    record = models.ForeignKey(
        AttendanceRecord, on_delete=models.CASCADE, related_name="audit_entries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    old_status = models.CharField(max_length=12, choices=Status.choices)
    new_status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.record}: {self.old_status} → {self.new_status}"


# Derived from the one pure list (attendance.flag_kinds), member names the
# kinds in capitals (FlagKind.IMPOSSIBLE_TRAVEL). The functional form is what lets the list
# stay in one place; mypy cannot follow it, hence the ignore (FlagKind is Any to it).
FlagKind = models.TextChoices(  # type: ignore[call-overload]
    "FlagKind", [(kind.upper(), (kind, label)) for kind, label in flag_kinds.LABELS.items()]
)


class ProxyFlag(models.Model):
    """An anti-proxy suspicion with the evidence behind it; never a silent acceptance."""

    kind = models.CharField(max_length=32, choices=FlagKind.choices)
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.CASCADE, related_name="proxy_flags"
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="proxy_flags"
    )
    session = models.ForeignKey(
        ClassSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="flags"
    )
    at = models.DateTimeField()
    evidence = models.JSONField(default=dict)
    detail = models.CharField(max_length=300)
    key = models.CharField(
        max_length=200,
        blank=True,
        help_text="Names the evidence a derived flag is about, so recomputing replaces it.",
    )
    # A person looked at the evidence (the staff dashboard counts the flags nobody has yet).
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["student", "at"], name="flag_student_at"),
            models.Index(fields=["key"], name="flag_key"),
            models.Index(fields=["session", "student"], name="flag_session_student"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class EngineCursor(models.Model):
    """How far a time-driven judgement of the engine has got (one row per judgement).

    The multi-card pass judges live taps once every event near them has arrived; its row
    says up to which tap time that is done, and its row lock keeps two ingest workers from
    judging at once.
    """

    name = models.CharField(max_length=64, unique=True)
    position = models.DateTimeField(help_text="Everything up to this moment is judged.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} judged up to {self.position:%Y-%m-%d %H:%M:%S}"


class ReferenceStamp(models.Model):
    """Retired: the single row the previous release updated on every change of reference
    data (see ReferenceChange). Kept for one release so that processes still running the
    previous release keep working while a deployment rolls over; drop it in the next."""

    name = models.CharField(max_length=64, unique=True)
    token = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name}: {self.token:x}"


class ReferenceChange(models.Model):
    """One save or delete of reference data the ingest keeps in memory between batches
    (readers, cards, students, rooms, courses, sessions, phones), written in the change's
    own transaction. Rows are only ever added (and old ones folded together by a prune),
    never updated, so two staff transactions never wait on each other here; an ingest
    process compares the number of changes committed once per batch instead of reading all
    of that again (attendance.engine.reference)."""

    changed_at = models.DateTimeField(default=timezone.now)
    pruned = models.PositiveBigIntegerField(
        default=0, help_text="Changes a prune folded into this row (the rows it removed)."
    )

    def __str__(self) -> str:
        return f"reference change {self.pk} at {self.changed_at:%Y-%m-%d %H:%M:%S}"


class RejudgeRequest(models.Model):
    """Door taps to judge again for several cards at one door, because an event arrived
    after they were judged (a reader replaying its buffer). Written by the ingest batch
    that stored the event, in its transaction; taken by the pass, which judges every
    tap on `reader` with `lo <= ts <= hi` again and deletes the request."""

    reader = models.CharField(max_length=64)
    lo = models.DateTimeField()
    hi = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.reader} {self.lo:%H:%M:%S}-{self.hi:%H:%M:%S}"


class RecomputeRequest(models.Model):
    """Records to recompute because staff changed what they follow from (a course's policy,
    a session, an enrolment, a card, a reader). Written in the change's own transaction, so
    a change and its request commit together; worked through in slices by the ingest's pass
    between batches, so a save in the admin answers at once however many records follow.

    `scope` is {"sessions": [ids], "students": [ids] or null (all enrolled)} or
    {"student_days": [[student id, "YYYY-MM-DD"], ...]} (replay the days from the evidence),
    optionally with {"drop_from": ISO time, "course": id, "student": id} (an enrolment ended:
    its records of sessions from then on go, unless a person set them)."""

    subject = models.CharField(max_length=120, db_index=True, help_text='e.g. "course:MAT110"')
    cause = models.CharField(max_length=200)
    scope = models.JSONField()
    position = models.PositiveIntegerField(default=0, help_text="Scope items done so far.")
    total = models.PositiveIntegerField(default=0, help_text="Scope items in all.")
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["finished_at", "id"], name="recompute_pending")]

    def __str__(self) -> str:
        return f"{self.cause} ({self.position}/{self.total})"


class PrivacyActionKind(models.TextChoices):
    EXPORT = "export", "Personal data exported"
    ERASE = "erase", "Personal data erased"


class PrivacyAction(models.Model):
    """Who exported or erased a student's personal data, and when. It names the student
    only through the row (pseudonymised by an erasure), never by a copy of their details."""

    kind = models.CharField(max_length=8, choices=PrivacyActionKind.choices)
    student = models.ForeignKey(
        Student, null=True, on_delete=models.SET_NULL, related_name="privacy_actions"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(
        max_length=150, help_text="Who did it (the login, or the shell user of a command)."
    )
    at = models.DateTimeField(default=timezone.now)
    detail = models.JSONField(default=dict, help_text="What was exported or removed, counted.")

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.by_name} at {self.at:%Y-%m-%d %H:%M}"


# Defined in their own module to keep this one readable; imported so Django registers them.
from attendance.excuse_models import Excuse, ExcusedSession, ExcuseState  # noqa: E402, F401
from attendance.warning_models import AttendanceWarning  # noqa: E402, F401
