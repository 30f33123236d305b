"""The staff UI for beacons (inline under their room) and students' phones."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from attendance.admin import RoomAdmin, add_inline
from beacons.models import Beacon, Phone


class BeaconInline(admin.TabularInline):
    model = Beacon
    extra = 0
    fields = ["kind", "label", "uuid", "major", "minor", "enter_rssi", "exit_rssi", "battery_pct"]
    show_change_link = True


add_inline(RoomAdmin, BeaconInline)


@admin.register(Beacon)
class BeaconAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "kind",
        "room",
        "enter_rssi",
        "exit_rssi",
        "battery_pct",
        "last_seen",
    ]
    list_filter = ["kind", "room"]
    search_fields = ["label", "uuid", "room__code"]
    list_select_related = ["room"]
    autocomplete_fields = ["room"]
    readonly_fields = ["last_seen"]


@admin.register(Phone)
class PhoneAdmin(admin.ModelAdmin):
    list_display = ["phone_id", "student", "model_name", "active", "registered_at", "last_seen"]
    list_filter = ["active"]
    search_fields = ["phone_id", "student__number", "student__last_name"]
    list_select_related = ["student"]
    autocomplete_fields = ["student"]
    readonly_fields = ["mqtt_password_hash", "registered_at", "revoked_at", "last_seen"]
    actions = ["revoke"]

    @admin.action(description="Revoke selected phones")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Phone]) -> None:
        now = timezone.now()
        for phone in queryset.filter(active=True):
            phone.active, phone.revoked_at = False, now
            phone.save()
        self.message_user(
            request, "Phones revoked; their reports are now rejected.", messages.SUCCESS
        )
