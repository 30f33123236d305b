"""Saves and deletes that change who may use the broker, passed to the dynamic security sync.

Each is applied after commit (devices/dynsec_hooks.py) and only when MQTT_ADMIN_URL is set.
The sync reads the committed rows, so a save that changed nothing broker-related changes
nothing at the broker. New passwords come with `mqtt_password_made`, sent by the code that
makes them (`Reader.rotate_password`, `register_phone`).
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from attendance.models import Student
from beacons.models import Phone
from devices.dynsec_hooks import credential_changed
from devices.models import Reader, mqtt_password_made


@receiver(mqtt_password_made, dispatch_uid="devices.dynsec_password_made")
def password_made(sender: type, username: str, password: str, **kwargs: object) -> None:
    credential_changed(username, password)


@receiver(post_save, sender=Reader, dispatch_uid="devices.dynsec_reader_saved")
@receiver(post_delete, sender=Reader, dispatch_uid="devices.dynsec_reader_deleted")
def reader_access_changed(sender: type[Reader], instance: Reader, **kwargs: object) -> None:
    credential_changed(instance.device_id)


@receiver(post_save, sender=Phone, dispatch_uid="devices.dynsec_phone_saved")
@receiver(post_delete, sender=Phone, dispatch_uid="devices.dynsec_phone_deleted")
def phone_access_changed(sender: type[Phone], instance: Phone, **kwargs: object) -> None:
    credential_changed(instance.phone_id)


@receiver(post_save, sender=Student, dispatch_uid="devices.dynsec_student_saved")
def student_phones_changed(sender: type[Student], instance: Student, **kwargs: object) -> None:
    # An inactive student's phone is disabled at the broker, and enabled again with them.
    if kwargs.get("created"):
        return
    for phone_id in Phone.objects.filter(student=instance, active=True).values_list(
        "phone_id", flat=True
    ):
        credential_changed(phone_id)
