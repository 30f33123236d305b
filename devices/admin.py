"""The staff UI for door readers (health at a glance), cards, and the stored evidence."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from attendance.admin import HistoryInline, ReadOnlyAdmin, RoomAdmin, StudentAdmin, add_inline
from devices import quarantine
from devices.identifiers import InvalidUid, normalise_uid
from devices.imports import CardResource, ReaderResource, StudentResource
from devices.models import (
    Card,
    CardAction,
    CardHistory,
    QuarantinedMessage,
    RawEvent,
    Reader,
    RejectedMessage,
)
from zias.csv_export import export_action
from zias.imports.admin import SheetImportMixin


class ReaderInline(admin.TabularInline):
    model = Reader
    extra = 0
    fields = ["device_id", "mode", "enabled", "online", "last_seen", "queued"]
    readonly_fields = ["online", "last_seen", "queued"]
    show_change_link = True


class CardInline(admin.TabularInline):
    model = Card
    extra = 0
    fields = ["uid", "active", "issued_at", "revoked_at", "note"]
    readonly_fields = ["issued_at", "revoked_at"]


add_inline(RoomAdmin, ReaderInline)
add_inline(StudentAdmin, CardInline)
StudentAdmin.resource_classes = [StudentResource]  # students come with their card UIDs


@admin.register(Reader)
class ReaderAdmin(SheetImportMixin, admin.ModelAdmin):
    resource_classes = [ReaderResource]
    list_display = [
        "device_id",
        "room",
        "mode",
        "enabled",
        "online",
        "last_seen",
        "queued",
        "firmware",
        "wifi_rssi",
    ]
    list_filter = ["online", "enabled", "mode", "room"]
    search_fields = ["device_id", "room__code", "ip"]
    list_select_related = ["room"]
    autocomplete_fields = ["room"]
    exclude = ["mqtt_password_hash"]
    readonly_fields = [
        *Reader.HEALTH_FIELDS,
        "has_mqtt_credential",
        "created_at",
        "updated_at",
    ]
    actions = ["rotate_credentials"]

    @admin.display(boolean=True, description="MQTT credential")
    def has_mqtt_credential(self, reader: Reader) -> bool:
        # The password is shown once, by the action below; even its hash stays out of sight.
        return bool(reader.mqtt_password_hash)

    @admin.action(description="Make a new MQTT password (shown once)")
    def rotate_credentials(self, request: HttpRequest, queryset: QuerySet[Reader]) -> None:
        where = (
            "the broker has it as soon as this is saved, and the old one is cut off"
            if settings.MQTT_ADMIN_URL
            else "run mosquitto_sync so the broker knows it"
        )
        for reader in queryset:
            password = reader.rotate_password()
            self.message_user(
                request,
                f"{reader.device_id}: new MQTT password {password} (shown only now; {where}).",
                messages.WARNING,
            )


class CardHistoryInline(HistoryInline):
    model = CardHistory
    readonly_fields = ["at", "action", "student", "by", "reason"]


@admin.register(Card)
class CardAdmin(SheetImportMixin, admin.ModelAdmin):
    resource_classes = [CardResource]
    list_display = ["uid", "student", "active", "issued_at", "revoked_at"]
    list_filter = ["active"]
    search_fields = ["uid", "student__number", "student__last_name"]
    list_select_related = ["student"]
    autocomplete_fields = ["student"]
    readonly_fields = ["issued_at", "revoked_at"]
    inlines = [CardHistoryInline]
    actions = ["revoke", "reactivate"]

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        # Staff paste UIDs in any form ('04:a1:b2:c3'); search the normal form too.
        with contextlib.suppress(InvalidUid):
            search_term = normalise_uid(search_term)
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        with transaction.atomic():
            previous = Card.objects.filter(pk=obj.pk).values_list("student_id", flat=True).first()
            super().save_model(request, obj, form, change)
            if not change:
                _log(obj, CardAction.ISSUED, request)
            elif previous != obj.student_id:
                _log(obj, CardAction.REASSIGNED, request)

    @admin.action(description="Revoke selected cards")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Card]) -> None:
        now = timezone.now()
        for card in queryset.filter(active=True):
            card.active, card.revoked_at = False, now
            card.save(update_fields=["active", "revoked_at"])
            _log(card, CardAction.REVOKED, request)
        self.message_user(request, "Cards revoked; their taps now answer revoked_card.")

    @admin.action(description="Reactivate selected cards")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Card]) -> None:
        for card in queryset.filter(active=False):
            card.active, card.revoked_at = True, None
            card.save(update_fields=["active", "revoked_at"])
            _log(card, CardAction.REACTIVATED, request)


def _log(card: Card, action: str, request: HttpRequest) -> None:
    CardHistory.objects.create(
        card=card,
        action=action,
        student_id=card.student_id,
        by=request.user if request.user.is_authenticated else None,
        reason="admin",
    )


EVENT_CSV_COLUMNS = [
    ("sender_kind", lambda e: e.sender_kind),
    ("sender", lambda e: e.sender),
    ("event_id", lambda e: e.event_id),
    ("type", lambda e: e.type),
    ("ts", lambda e: e.ts),
    ("ts_from_sender", lambda e: e.ts_from_sender),
    ("received_at", lambda e: e.received_at),
    ("uid", lambda e: e.uid),
    ("payload", lambda e: e.payload),
]


@admin.register(RawEvent)
class RawEventAdmin(ReadOnlyAdmin):
    list_display = ["ts", "sender", "event_id", "type", "uid", "received_at"]
    list_filter = ["type", "sender_kind", "ts_from_sender"]
    search_fields = ["sender", "event_id", "uid"]
    date_hierarchy = "ts"
    actions = [export_action("events.csv", EVENT_CSV_COLUMNS, "Export selected as CSV")]


@admin.register(RejectedMessage)
class RejectedMessageAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "topic", "sender", "event_id", "reason"]
    search_fields = ["topic", "sender", "reason"]
    date_hierarchy = "received_at"
    actions = [
        export_action(
            "rejected.csv",
            [
                ("received_at", lambda m: m.received_at),
                ("topic", lambda m: m.topic),
                ("reason", lambda m: m.reason),
                ("payload", lambda m: m.payload),
            ],
            "Export selected as CSV",
        )
    ]


@admin.register(QuarantinedMessage)
class QuarantinedMessageAdmin(ReadOnlyAdmin):
    """Messages that failed inside the server (our bug), kept whole: re-run them once the
    bug is fixed."""

    list_display = ["received_at", "topic", "state", "attempts", "outcome"]
    list_filter = ["state"]
    search_fields = ["topic", "error"]
    date_hierarchy = "received_at"
    readonly_fields = ["topic", "payload_text", "received_at", "error", "attempts", "state",
                       "outcome", "rerun_at"]  # fmt: skip
    exclude = ["payload"]
    actions = ["rerun"]

    @admin.display(description="payload")
    def payload_text(self, obj: QuarantinedMessage) -> str:
        return bytes(obj.payload).decode("utf-8", "replace")

    @admin.action(description="Re-run through the pipeline")
    def rerun(self, request: HttpRequest, queryset: QuerySet[QuarantinedMessage]) -> None:
        tally = quarantine.rerun(queryset)
        level = messages.SUCCESS if not tally.still_failing else messages.WARNING
        self.message_user(
            request,
            f"{tally.stored} message(s) stored; {tally.still_failing} still failing.",
            level,
        )


import devices.enrolment_admin  # noqa: E402, F401  (registers enrol by tap)
from attendance.recompute_admin import show_pending_recomputes  # noqa: E402

show_pending_recomputes(CardAdmin, lambda card: f"card:{card.uid}")
show_pending_recomputes(ReaderAdmin, lambda reader: f"reader:{reader.device_id}")
