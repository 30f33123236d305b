"""The staff UI for people, places, timetables and the records the engine derives."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.options import InlineModelAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from attendance import services
from attendance.charts.pages import course_rate_chart, room_occupancy_chart
from attendance.imports import (
    CourseResource,
    EnrolmentResource,
    HolidayResource,
    RoomResource,
    TermResource,
    TimetableSlotResource,
)
from attendance.models import (
    AttendanceRecord,
    AttendanceWarning,
    AuditEntry,
    ClassSession,
    Course,
    Enrolment,
    Holiday,
    ProxyFlag,
    RecordRevision,
    Room,
    Status,
    Student,
    Term,
    TimetableSlot,
    Visit,
)
from attendance.privacy_admin import StudentPrivacyActions
from attendance.timetable import regenerate_slot, regenerate_term
from attendance.warning_mail import local_when
from zias.csv_export import export_action
from zias.imports.admin import SheetImportMixin


class CorrectionActionForm(ActionForm):
    status = forms.ChoiceField(choices=[("", "status…"), *Status.choices], required=False)
    reason = forms.CharField(max_length=300, required=False, help_text="Kept in the audit.")


def add_inline(model_admin: type[admin.ModelAdmin], inline: type[InlineModelAdmin]) -> None:
    """Let devices and beacons put their inlines on rooms and students (imports stay one-way)."""
    model_admin.inlines = (*model_admin.inlines, inline)


RECORD_CSV_COLUMNS = [
    ("session_start", lambda r: r.session.starts_at),
    ("course", lambda r: r.session.course.code),
    ("room", lambda r: r.session.room.code),
    ("student", lambda r: r.student.number),
    ("name", lambda r: r.student.full_name),
    ("status", lambda r: r.status),
    ("computed_status", lambda r: r.computed_status),
    ("first_seen", lambda r: r.first_seen),
    ("last_seen", lambda r: r.last_seen),
    ("minutes_present", lambda r: r.minutes_present),
    ("flags", lambda r: r.flags),
    ("manual", lambda r: r.manual),
    ("manual_reason", lambda r: r.manual_reason),
]


@admin.register(Room)
class RoomAdmin(SheetImportMixin, admin.ModelAdmin):
    resource_classes = [RoomResource]
    list_display = ["code", "name", "building", "floor", "capacity"]
    list_filter = ["building"]
    search_fields = ["code", "name"]
    # devices and beacons add their inlines here (readers, beacons), keeping imports one-way.
    inlines = ()
    readonly_fields = ["occupancy_today"]
    fieldsets = [
        (None, {"fields": ["code", "name", "capacity", "building", "floor"]}),
        (
            "BLE presence",
            {
                "fields": ["ble_margin_db", "ble_enter_windows", "ble_leave_windows"],
                "description": "This room's own thresholds, e.g. from calibrate_room --apply; "
                "empty ones take the default all rooms share. A change replays today's BLE "
                "presence in the room and its neighbours.",
            },
        ),
        ("Today", {"fields": ["occupancy_today"]}),
    ]

    @admin.display(description="Occupancy today")
    def occupancy_today(self, room: Room) -> str:
        if room.pk is None:
            return "-"
        now = timezone.now()
        chart = room_occupancy_chart(room, timezone.localdate(now), now)
        url = reverse("chart-room-occupancy", args=[room.code])
        other_days = format_html(
            '<p class="help">Another day: <a href="{}">{}?day=YYYY-MM-DD</a></p>', url, url
        )
        return format_html("{}{}", chart, other_days)


class HistoryInline(admin.TabularInline):
    """Rows a person reads under their parent but never adds or deletes by hand."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EnrolmentInline(admin.TabularInline):
    """Enrolments are added here (with the day a late one counts from) or deleted; an
    existing one is not re-edited in place. A course of hundreds of students would otherwise
    send, and validate with a query each, hundreds of unchanged rows on every save."""

    model = Enrolment
    extra = 0
    autocomplete_fields = ["student", "course"]
    fields = ["student", "course", "effective_from"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Student)
class StudentAdmin(StudentPrivacyActions, SheetImportMixin, admin.ModelAdmin):
    # devices/admin.py sets the resource (students come with their cards), imports one-way.
    resource_classes: list[type] = []
    list_display = ["number", "last_name", "first_name", "email", "user", "active"]
    list_filter = ["active", "courses"]
    search_fields = ["number", "first_name", "last_name", "email", "cards__uid"]
    autocomplete_fields = ["user"]
    inlines = (EnrolmentInline,)
    actions = ["export_personal_data", "erase_personal_data"]


COURSE_POLICY_FIELDS = ("grace_minutes", "min_presence_pct", "early_minutes", "tap_required")


class CourseWarningInline(HistoryInline):
    """The course's page shows the warnings sent about its students, newest first."""

    model = AttendanceWarning
    fields = ("created_at", "student", "kind", "level", "rate", "state", "sent_at", "withdrawn")
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name_plural = "warnings sent about this course's students"
    show_change_link = True

    @admin.display(description="Withdrawn because")
    def withdrawn(self, warning: AttendanceWarning) -> str:
        return warning.withdrawn_because or "-"


@admin.register(Course)
class CourseAdmin(SheetImportMixin, admin.ModelAdmin):
    resource_classes = [CourseResource]
    list_display = [
        "code",
        "name",
        "enrolled",
        "grace_minutes",
        "min_presence_pct",
        "early_minutes",
        "tap_required",
    ]
    list_filter = ["tap_required", "teachers"]
    search_fields = ["code", "name"]
    filter_horizontal = ["teachers"]
    inlines = [EnrolmentInline, CourseWarningInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "teachers"]}),
        ("Attendance policy", {"fields": COURSE_POLICY_FIELDS}),
        (
            "Warnings by email",
            {
                "fields": [
                    "warn_below_pct",
                    "warn_min_sessions",
                    "warn_consecutive_absences",
                    "warn_extra_emails",
                    "weekly_rate_chart",
                ],
                "description": "A student is warned once per level, with the teachers and the "
                "addresses below in copy; excused sessions never count.",
            },
        ),
    ]
    readonly_fields = ["weekly_rate_chart"]

    @admin.display(description="Weekly attendance rate")
    def weekly_rate_chart(self, course: Course) -> str:
        if course.pk is None:
            return "-"
        return course_rate_chart(course, timezone.now())

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        return super().get_queryset(request).annotate(enrolled_count=Count("enrolments"))

    @admin.display(ordering="enrolled_count", description="Enrolled")
    def enrolled(self, course: Course) -> int:
        return course.enrolled_count  # type: ignore[attr-defined]


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


class SlotInline(admin.TabularInline):
    model = TimetableSlot
    extra = 0
    autocomplete_fields = ["course", "room"]


@admin.register(Term)
class TermAdmin(SheetImportMixin, admin.ModelAdmin):
    resource_classes = [TermResource]
    list_display = ["name", "starts_on", "ends_on"]
    date_hierarchy = "starts_on"
    inlines = [HolidayInline, SlotInline]
    actions = ["regenerate_sessions"]

    @admin.action(description="Regenerate sessions from the timetable (respects holidays)")
    def regenerate_sessions(self, request: HttpRequest, queryset: QuerySet[Term]) -> None:
        for term in queryset:
            result = regenerate_term(term)
            self.message_user(
                request,
                f"{term}: {result.created} created, {result.kept} kept, "
                f"{result.cancelled} cancelled.",
                messages.SUCCESS,
            )


@admin.register(Holiday)
class HolidayAdmin(SheetImportMixin, admin.ModelAdmin):
    resource_classes = [HolidayResource]
    list_display = ["name", "term", "starts_on", "ends_on"]
    list_filter = ["term"]
    search_fields = ["name", "term__name"]
    date_hierarchy = "starts_on"


@admin.register(Enrolment)
class EnrolmentAdmin(SheetImportMixin, admin.ModelAdmin):
    resource_classes = [EnrolmentResource]
    list_display = ["course", "student", "enrolled_at"]
    list_filter = ["course"]
    search_fields = ["course__code", "student__number", "student__last_name"]
    autocomplete_fields = ["course", "student"]
    list_select_related = ["course", "student"]
    date_hierarchy = "enrolled_at"


class SessionInline(admin.TabularInline):
    model = ClassSession
    extra = 0
    fields = ["starts_at", "ends_at", "room", "cancelled", "finalised_at"]
    readonly_fields = ["starts_at", "ends_at", "finalised_at"]
    show_change_link = True


@admin.register(TimetableSlot)
class TimetableSlotAdmin(SheetImportMixin, admin.ModelAdmin):
    resource_classes = [TimetableSlotResource]
    list_display = ["course", "weekday", "start_time", "end_time", "room", "term"]
    list_filter = ["term", "weekday", "room"]
    search_fields = ["course__code", "course__name", "room__code"]
    autocomplete_fields = ["course", "room"]
    inlines = [SessionInline]
    actions = ["regenerate_sessions"]

    @admin.action(description="Regenerate this slot's sessions")
    def regenerate_sessions(self, request: HttpRequest, queryset: QuerySet[TimetableSlot]) -> None:
        created = sum(regenerate_slot(slot).created for slot in queryset)
        self.message_user(request, f"{created} sessions created.", messages.SUCCESS)


class RecordInline(HistoryInline):
    model = AttendanceRecord
    fields = ("student", "status", "computed_status", "minutes_present", "flags", "manual")
    readonly_fields = fields
    show_change_link = True


@admin.register(ClassSession)
class ClassSessionAdmin(admin.ModelAdmin):
    list_display = ["course", "room", "starts_at", "ends_at", "cancelled", "finalised_at"]
    list_filter = ["cancelled", "room", "course"]
    search_fields = ["course__code", "course__name", "room__code"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["course", "room"]
    readonly_fields = ["finalised_at", "slot"]
    inlines = [RecordInline]
    list_select_related = ["course", "room"]


class RevisionInline(HistoryInline):
    model = RecordRevision
    readonly_fields = [
        "revision",
        "status",
        "minutes_present",
        "first_seen",
        "last_seen",
        "flags",
        "cause",
        "changed_at",
    ]


class AuditInline(HistoryInline):
    model = AuditEntry
    readonly_fields = ["at", "user", "old_status", "new_status", "reason"]


@admin.register(AttendanceRecord)
class AttendanceRecordAdmin(admin.ModelAdmin):
    list_display = [
        "student",
        "session",
        "status",
        "computed_status",
        "minutes_present",
        "first_seen",
        "flag_list",
        "manual",
        "revision",
    ]
    list_filter = ["status", "manual", "finalised", "session__course", "session__room"]
    search_fields = ["student__number", "student__last_name", "session__course__code"]
    date_hierarchy = "session__starts_at"
    list_select_related = ["student", "session__course", "session__room"]
    readonly_fields = [
        "session",
        "student",
        "computed_status",
        "first_seen",
        "last_seen",
        "minutes_present",
        "flags",
        "revision",
        "finalised",
        "manual",
        "manual_reason",
    ]
    # Status changes go through the correction door (audited, under the student's lock),
    # never a form save, which would write back every field as the page loaded it.
    exclude = ["status"]
    inlines = [AuditInline, RevisionInline]
    action_form = CorrectionActionForm
    actions = [
        "correct",
        export_action("attendance-records.csv", RECORD_CSV_COLUMNS, "Export selected as CSV"),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(
        description="Mark selected records (status and reason above)", permissions=["view"]
    )
    def correct(self, request: HttpRequest, queryset: QuerySet[AttendanceRecord]) -> None:
        status, reason = request.POST.get("status", ""), request.POST.get("reason", "")
        by_session: dict[int, list[AttendanceRecord]] = {}
        for record in queryset.select_related("session__room", "student"):
            by_session.setdefault(record.session_id, []).append(record)
        try:
            for records in by_session.values():
                marks = [(r.student, status) for r in records]
                services.correct_attendances(records[0].session, marks, request.user, reason)
        except services.CorrectionRefused as refused:
            self.message_user(request, f"Not saved: {refused}.", messages.ERROR)
            return
        self.message_user(request, f"{queryset.count()} record(s) marked {status}.")

    @admin.display(description="Flags")
    def flag_list(self, record: AttendanceRecord) -> str:
        return ", ".join(record.flags) or "-"


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    """Visits follow the evidence (a replay rewrites them), so they are shown, not edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    list_display = [
        "student",
        "room",
        "entered_at",
        "left_at",
        "source",
        "closed_by_system",
        "close_reason",
    ]
    list_filter = ["source", "closed_by_system", "room"]
    search_fields = ["student__number", "student__last_name", "room__code"]
    date_hierarchy = "entered_at"
    list_select_related = ["student", "room"]
    autocomplete_fields = ["student", "room"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence and history: visible to staff, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReviewedFilter(admin.SimpleListFilter):
    title = "reviewed"
    parameter_name = "reviewed"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("no", "Waiting for review"), ("yes", "Reviewed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ProxyFlag]) -> QuerySet:
        if self.value() in ("no", "yes"):
            return queryset.filter(reviewed_at__isnull=self.value() == "no")
        return queryset


@admin.register(ProxyFlag)
class ProxyFlagAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "student", "room", "session", "detail", "reviewed_at"]
    list_filter = [ReviewedFilter, "kind", "room"]
    search_fields = ["student__number", "student__last_name", "detail"]
    date_hierarchy = "at"
    list_select_related = ["student", "room", "session__course"]
    actions = ["mark_reviewed"]

    @admin.action(description="Mark as reviewed (the evidence was looked at)")
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[ProxyFlag]) -> None:
        done = queryset.filter(reviewed_at__isnull=True).update(
            reviewed_at=timezone.now(), reviewed_by=request.user
        )
        self.message_user(request, f"{done} flags marked as reviewed.", messages.SUCCESS)


@admin.register(AttendanceWarning)
class AttendanceWarningAdmin(ReadOnlyAdmin):
    """Every warning made, sent or withdrawn, with the sessions it named."""

    list_display = ["created_at", "course", "student", "kind", "level", "rate", "state", "sent_at"]
    list_filter = ["state", "kind", "course"]
    search_fields = ["student__number", "student__last_name", "course__code"]
    date_hierarchy = "created_at"
    list_select_related = ["course", "student"]
    readonly_fields = [
        "course",
        "student",
        "kind",
        "level",
        "state",
        "as_of",
        "sessions_ended",
        "rate",
        "sessions_named",
        "recipients",
        "created_at",
        "sent_at",
        "attempts",
        "last_error",
        "withdrawn_at",
        "withdrawn_because",
        "notice_sent_at",
    ]
    exclude = ["missed", "key"]

    @admin.display(description="Sessions")
    def sessions_named(self, warning: AttendanceWarning) -> str:
        return "; ".join(
            f"{local_when(entry['starts_at'])} {entry['room']} ({entry['status']})"
            for entry in warning.missed
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "record", "old_status", "new_status", "reason"]
    list_filter = ["new_status", "user"]
    search_fields = ["record__student__number", "reason"]
    date_hierarchy = "at"


import attendance.excuse_admin  # noqa: E402  (registers the excuses' admin)
import attendance.recompute_admin  # noqa: E402  (recompute requests, and what waits per object)

attendance.recompute_admin.show_pending_recomputes(CourseAdmin, lambda c: f"course:{c.code}")
attendance.recompute_admin.show_pending_recomputes(ClassSessionAdmin, lambda s: f"session:{s.pk}")
