"""The staff UI for beacons (inline under their room) and students' phones."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from attendance.admin import RoomAdmin, add_inline
from beacons.imports import BeaconResource
from beacons.models import Beacon, Phone
from zias.imports.admin import SheetImportMixin


class BeaconInline(admin.TabularInline):
    model = Beacon
    extra = 0
    fields = ["kind", "label", "uuid", "major", "minor", "enter_rssi", "exit_rssi", "battery_pct"]
    show_change_link = True


add_inline(RoomAdmin, BeaconInline)


class BeaconForm(forms.ModelForm):
    """The EID key is write-only: typed in, never shown again; left blank, it stays as it is."""

    eid_key = forms.CharField(
        required=False,
        max_length=32,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Eddystone-EID only: the beacon's 32-hex identity key. Never shown again; "
        "leave blank to keep the one stored.",
    )

    class Meta:
        model = Beacon
        fields = [
            "room",
            "kind",
            "label",
            "uuid",
            "major",
            "minor",
            "eid_key",
            "eid_exponent",
            "eid_counter_offset",
            "enter_rssi",
            "exit_rssi",
            "battery_pct",
        ]

    def clean_eid_key(self) -> str:
        typed = self.cleaned_data.get("eid_key") or ""
        if not typed and self.instance.pk:
            return str(self.instance.eid_key)
        if typed and not re.fullmatch(r"[0-9a-fA-F]{32}", typed):
            raise forms.ValidationError("32 hex characters (16 bytes).")
        return typed.lower()


@admin.register(Beacon)
class BeaconAdmin(SheetImportMixin, admin.ModelAdmin):
    form = BeaconForm
    resource_classes = [BeaconResource]
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
    exclude = ["mqtt_password_hash"]
    readonly_fields = ["has_mqtt_credential", "registered_at", "revoked_at", "last_seen"]
    actions = ["revoke"]

    @admin.display(boolean=True, description="MQTT credential")
    def has_mqtt_credential(self, phone: Phone) -> bool:
        # The password was shown once, to the phone; even its hash stays out of sight.
        return bool(phone.mqtt_password_hash)

    @admin.action(description="Revoke selected phones")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Phone]) -> None:
        now = timezone.now()
        for phone in queryset.filter(active=True):
            phone.active, phone.revoked_at = False, now
            phone.save()
        self.message_user(
            request,
            "Phones revoked; their reports are now rejected (and, with the broker's dynamic "
            "security plugin, their connections closed).",
            messages.SUCCESS,
        )
