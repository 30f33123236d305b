"""BLE beacons fixed in rooms, and the students' phones that report hearing them."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from attendance.models import Room, Student
from devices.identifiers import sender_id_validator

HEX32 = RegexValidator(r"^[0-9a-fA-F]{32}$", "32 hex characters (a 128-bit key).")
UUID_RE = RegexValidator(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "A UUID such as f7826da6-4fa2-4e98-8024-bc5b71e0893e.",
)


class BeaconKind(models.TextChoices):
    IBEACON = "ibeacon", "iBeacon"
    EDDYSTONE_EID = "eddystone_eid", "Eddystone-EID"


class Beacon(models.Model):
    kind = models.CharField(max_length=16, choices=BeaconKind.choices)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="beacons")
    label = models.CharField(max_length=80, blank=True)
    # iBeacon identity.
    uuid = models.CharField(max_length=36, blank=True, validators=[UUID_RE])
    major = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(65535)]
    )
    minor = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(65535)]
    )
    # Eddystone-EID identity: the shared key, rotation exponent, and the beacon's own time
    # counter minus Unix seconds, as recorded at registration.
    eid_key = models.CharField(max_length=32, blank=True, validators=[HEX32])
    eid_exponent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(15)]
    )
    eid_counter_offset = models.BigIntegerField(null=True, blank=True)
    # Calibration: a phone is "in" when the smoothed median is at or above enter_rssi.
    enter_rssi = models.SmallIntegerField(
        default=-75, validators=[MinValueValidator(-120), MaxValueValidator(0)]
    )
    exit_rssi = models.SmallIntegerField(
        default=-85, validators=[MinValueValidator(-120), MaxValueValidator(0)]
    )
    battery_pct = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["room__code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["uuid", "major", "minor"], name="ibeacon_identity"),
            models.CheckConstraint(
                condition=(
                    Q(kind="ibeacon", major__isnull=False, minor__isnull=False) & ~Q(uuid="")
                )
                | (
                    Q(kind="eddystone_eid", eid_exponent__isnull=False)
                    & Q(eid_counter_offset__isnull=False)
                    & ~Q(eid_key="")
                ),
                name="beacon_identity_complete",
            ),
            models.CheckConstraint(
                condition=Q(exit_rssi__lte=models.F("enter_rssi")),
                name="beacon_exit_not_above_enter",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == BeaconKind.IBEACON:
            return f"iBeacon {self.major}/{self.minor} in {self.room.code}"
        return f"EID beacon #{self.pk} in {self.room.code}"


class Phone(models.Model):
    """A student's app install. Its phone id is also its MQTT username."""

    phone_id = models.CharField(max_length=64, unique=True, validators=[sender_id_validator])
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="phones")
    # Equals student while the phone is active, NULL otherwise: a unique column MariaDB can
    # enforce "one active phone per student" with, since it has no partial indexes.
    active_for = models.OneToOneField(
        Student, null=True, blank=True, editable=False, on_delete=models.CASCADE, related_name="+"
    )
    model_name = models.CharField(max_length=80, blank=True, help_text="e.g. Pixel 8")
    rssi_offset_db = models.SmallIntegerField(
        default=0, help_text="Added to reported RSSI to even out phone models."
    )
    mqtt_password_hash = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-registered_at"]

    def __str__(self) -> str:
        return self.phone_id

    def save(self, *args: object, **kwargs: object) -> None:
        self.active_for_id = self.student_id if self.active else None
        super().save(*args, **kwargs)  # type: ignore[arg-type]


def active_phones_of(students: set[int]) -> dict[int, str]:
    """Student id to the phone id of their active phone (a student has at most one)."""
    return dict(
        Phone.objects.filter(student_id__in=students, active=True).values_list(
            "student_id", "phone_id"
        )
    )


class PresenceCheckpoint(models.Model):
    """A phone's BLE presence state after one of its reports (attendance.engine.ble).

    A report in event-time order resumes from the phone's latest checkpoint instead of
    replaying its day; a report older than that resumes from the latest one before it.
    So a phone keeps one row per `slot` (its event time in CHECKPOINT_SPACING steps) for
    the last few slots: the state after the last report of that slot.
    """

    phone = models.ForeignKey(Phone, on_delete=models.CASCADE, related_name="+")
    slot = models.BigIntegerField()
    day = models.DateField(help_text="The school's local day: presence starts afresh each day.")
    at = models.DateTimeField(help_text="The ts of the last report taken in.")
    event_id = models.CharField(max_length=64)
    # What the state was computed with (beacons, thresholds, the phone's offset): a state
    # from another setup is never resumed.
    setup = models.CharField(max_length=32)
    state = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone", "slot"], name="checkpoint_per_phone_slot")
        ]

    def __str__(self) -> str:
        return f"{self.phone_id} at {self.at:%Y-%m-%d %H:%M:%S}"
