"""Door readers, RFID cards, and the evidence they produce (stored events, rejected messages)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from attendance.days import day_bounds, local_day
from attendance.models import Room, Student
from devices.credentials import mosquitto_hash, new_password
from devices.identifiers import InvalidUid, normalise_uid, sender_id_validator

# Sent when a reader's or phone's new MQTT password is made, with its `username` and the
# plain `password`, the one moment that is known; devices/dynsec_signals.py hands it to the
# broker after commit. (A signal, so models need not know about the broker.)
mqtt_password_made = Signal()


class ReaderMode(models.TextChoices):
    ENTRY = "entry", "Entry only"
    EXIT = "exit", "Exit only"
    TOGGLE = "toggle", "Toggle (in, then out)"
    PIR = "pir", "Direction from the PIR sensors"


class ReaderQuerySet(models.QuerySet["Reader"]):
    def enabled(self) -> ReaderQuerySet:
        return self.filter(enabled=True)


class Reader(models.Model):
    """An ESP8266 door reader. Its device id is also its MQTT username and client id."""

    device_id = models.CharField(max_length=64, unique=True, validators=[sender_id_validator])
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="readers")
    mode = models.CharField(max_length=8, choices=ReaderMode.choices, default=ReaderMode.TOGGLE)
    debounce_s = models.PositiveSmallIntegerField(default=5)
    heartbeat_s = models.PositiveSmallIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    mqtt_password_hash = models.CharField(
        max_length=255, blank=True, help_text="Only the hash is kept; rotate to get a new one."
    )
    # Health, as the reader last reported it.
    online = models.BooleanField(default=False)
    last_seen = models.DateTimeField(null=True, blank=True)
    firmware = models.CharField(max_length=32, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    wifi_rssi = models.SmallIntegerField(null=True, blank=True)
    uptime_s = models.PositiveIntegerField(null=True, blank=True)
    queued = models.PositiveIntegerField(default=0, help_text="Events in the offline buffer.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReaderQuerySet.as_manager()

    class Meta:
        ordering = ["device_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=["entry", "exit", "toggle", "pir"]), name="reader_mode_valid"
            ),
            models.CheckConstraint(condition=Q(debounce_s__lte=3600), name="reader_debounce_max"),
            models.CheckConstraint(condition=Q(heartbeat_s__gte=5), name="reader_heartbeat_min"),
        ]

    def __str__(self) -> str:
        return self.device_id

    # What the reader reports about itself; shown read-only in the admin and the API.
    HEALTH_FIELDS = ("online", "last_seen", "firmware", "ip", "wifi_rssi", "uptime_s", "queued")

    def save(self, *args: object, **kwargs: object) -> None:
        before = (
            Reader.objects.filter(pk=self.pk).values_list("room_id", "mode").first()
            if self.pk
            else None
        )
        with transaction.atomic():
            super().save(*args, **kwargs)  # type: ignore[arg-type]
            if before != (self.room_id, self.mode):
                ReaderPlacement.objects.create(
                    reader=self,
                    room_id=self.room_id,
                    mode=self.mode,
                    # A new reader has been where it is all along; a moved one from now on.
                    since=timezone.now() if before else PLACED_FOREVER,
                )

    def rotate_password(self) -> str:
        """A new MQTT password: returned once, only its hash kept. With the dynamic security
        plugin the broker gets it once this commits, and the old one stops working then;
        with the password file, at the next mosquitto_sync."""
        password = new_password()
        with transaction.atomic():  # one broker update after commit, with the password
            self.mqtt_password_hash = mosquitto_hash(password)
            self.save(update_fields=["mqtt_password_hash", "updated_at"])
            mqtt_password_made.send(Reader, username=self.device_id, password=password)
        return password

    def config_payload(self) -> dict[str, object]:
        """What the reader gets, retained, on .../config."""
        return {"mode": self.mode, "debounce_s": self.debounce_s, "heartbeat_s": self.heartbeat_s}


class Card(models.Model):
    """An RFID card. The UID is stored normalised, so each physical card exists once."""

    uid = models.CharField(max_length=20, unique=True)
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="cards")
    active = models.BooleanField(default=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["uid"]
        constraints = [
            # The normal form has no separators and no lower case; the database holds it to that.
            models.CheckConstraint(
                condition=Q(uid__regex=r"^([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$"),
                name="card_uid_normalised",
            ),
        ]

    def __str__(self) -> str:
        return self.uid

    def save(self, *args: object, owned_since: datetime | None = None, **kwargs: object) -> None:
        """Saves, and keeps the card's ownership in time. `owned_since` backdates a new
        card's first owner (an import of cards the school has used all along)."""
        self.uid = normalise_uid(self.uid)
        owner_before = (
            Card.objects.filter(pk=self.pk).values_list("student_id", flat=True).first()
            if self.pk
            else None
        )
        with transaction.atomic():
            super().save(*args, **kwargs)  # type: ignore[arg-type]
            if owner_before != self.student_id:
                CardOwnership.hand_over(
                    self, timezone.now(), first=owner_before is None, since=owned_since
                )

    def clean(self) -> None:
        try:
            self.uid = normalise_uid(self.uid)
        except InvalidUid as exc:
            raise ValidationError({"uid": str(exc)}) from None


# Where a reader has been "all along" (before the first move anyone recorded).
PLACED_FOREVER = datetime(2000, 1, 1, tzinfo=UTC)


class ReaderPlacement(models.Model):
    """Where a reader was and how it told direction, from when: the room and mode at the
    moment of an event decide where it happened, so moving a reader rewrites no past."""

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="placements")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=8, choices=ReaderMode.choices)
    since = models.DateTimeField()

    class Meta:
        ordering = ["reader", "since"]

    def __str__(self) -> str:
        return f"{self.reader_id} in {self.room_id} ({self.mode}) from {self.since:%Y-%m-%d}"


class CardOwnership(models.Model):
    """Who a card belonged to, and when: the owner at the moment of a tap decides whose tap it
    was, so handing a card from A to B changes nothing in A's past. A new card belongs to its
    student from the start of the (school's) day it was registered, so taps made that day
    while it was still unknown count for them (flagged `registered_after_tap`)."""

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="ownerships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["card", "since"]
        indexes = [models.Index(fields=["student", "since"], name="ownership_student")]

    def __str__(self) -> str:
        return f"{self.card_id} -> {self.student_id} from {self.since:%Y-%m-%d %H:%M}"

    @classmethod
    def hand_over(
        cls, card: Card, now: datetime, *, first: bool, since: datetime | None = None
    ) -> None:
        """The card is now its `student`'s: close the open ownership, open the new one."""
        if first:
            since = since or day_bounds(local_day(now))[0]
        else:
            since = now
            cls.objects.filter(card=card, until__isnull=True).update(until=now)
        cls.objects.create(card=card, student_id=card.student_id, since=since)


class CardAction(models.TextChoices):
    ISSUED = "issued", "Issued"
    REVOKED = "revoked", "Revoked"
    REACTIVATED = "reactivated", "Reactivated"
    REASSIGNED = "reassigned", "Reassigned"


class CardHistory(models.Model):
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="history")
    action = models.CharField(max_length=12, choices=CardAction.choices)
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "card history"

    def __str__(self) -> str:
        return f"{self.card.uid} {self.action}"


class SenderKind(models.TextChoices):
    DEVICE = "device", "Door reader"
    PHONE = "phone", "Phone"


class EventType(models.TextChoices):
    RFID = "rfid", "Card tap"
    PIR = "pir", "Motion"
    BLE = "ble", "BLE scan window"


class RawEvent(models.Model):
    """One event as a sender reported it, stored once: (sender kind, sender, id) is unique."""

    sender_kind = models.CharField(max_length=6, choices=SenderKind.choices)
    sender = models.CharField(max_length=64)
    event_id = models.CharField(max_length=64)
    type = models.CharField(max_length=4, choices=EventType.choices)
    ts = models.DateTimeField(help_text="When it happened (the sender's clock, else receipt).")
    ts_from_sender = models.BooleanField(default=True)
    uid = models.CharField(
        max_length=20, blank=True, help_text="A card tap's UID, normalised, for fast lookups."
    )
    received_at = models.DateTimeField()
    payload = models.JSONField()
    # A random number per ingest batch: after an INSERT IGNORE the batch reads its keys back and
    # knows which rows it created itself, even when another worker stored the same key meanwhile.
    ingest_batch = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["ts", "id"]
        indexes = [
            models.Index(fields=["sender", "ts"], name="event_sender_ts"),
            models.Index(fields=["ts"], name="event_ts"),
            models.Index(fields=["uid", "ts"], name="event_uid_ts"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sender_kind", "sender", "event_id"], name="event_unique_per_sender"
            ),
            models.CheckConstraint(
                condition=Q(type__in=["rfid", "pir", "ble"]), name="event_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender}/{self.event_id} {self.type}"


class RejectedMessage(models.Model):
    """A message that broke the contract, kept with the reason so staff can see what happened."""

    topic = models.CharField(max_length=255)
    reason = models.CharField(max_length=500)
    sender = models.CharField(max_length=64, blank=True)
    event_id = models.CharField(max_length=64, blank=True)
    payload = models.TextField(blank=True, help_text="As received (cut to the contract's 64 KiB).")
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.topic}: {self.reason}"


class IngestWorker(models.Model):
    """What an ingest process last said about itself, for /health and the admin."""

    name = models.CharField(max_length=128, unique=True)
    started_at = models.DateTimeField()
    last_tick_at = models.DateTimeField()
    pending = models.PositiveIntegerField(default=0, help_text="Messages received, not yet acked.")
    oldest_pending_at = models.DateTimeField(null=True, blank=True)
    stored_total = models.PositiveBigIntegerField(default=0)
    duplicate_total = models.PositiveBigIntegerField(default=0)
    rejected_total = models.PositiveBigIntegerField(default=0)
    broker_contact_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The last tick at which this process's broker connection was up.",
    )
    stopped = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class QuarantineState(models.TextChoices):
    WAITING = "waiting", "Waiting for a re-run"
    STORED = "stored", "Re-run and stored"


class QuarantinedMessage(models.Model):
    """A message within the contract that made the server itself fail (our bug), kept whole
    so that staff can re-run it through the pipeline once the bug is fixed. Not rejected
    input: nothing was wrong with what the sender sent."""

    topic = models.CharField(max_length=255)
    payload = models.BinaryField(help_text="Exactly as received.")
    retain = models.BooleanField(default=False)
    received_at = models.DateTimeField(db_index=True)
    error = models.TextField(help_text="What failed, with the traceback of the last attempt.")
    attempts = models.PositiveIntegerField(default=1)
    state = models.CharField(
        max_length=8, choices=QuarantineState.choices, default=QuarantineState.WAITING
    )
    outcome = models.CharField(max_length=200, blank=True, help_text="What the last re-run did.")
    rerun_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["state", "received_at"], name="quarantine_waiting")]

    def __str__(self) -> str:
        return f"{self.topic} ({self.get_state_display()})"


# In its own module to keep this one readable; imported so Django registers it.
from devices.enrolment_models import TapEnrolment  # noqa: E402, F401
