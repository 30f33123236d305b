"""Tell a reader its configuration once the change is committed."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from devices.models import Reader
from devices.mqtt.config import publish_config_quietly


@receiver(post_save, sender=Reader, dispatch_uid="devices.reader_config_on_save")
def publish_reader_config(sender: type[Reader], instance: Reader, **kwargs: object) -> None:
    device_id, config = instance.device_id, instance.config_payload()
    transaction.on_commit(lambda: publish_config_quietly(device_id, config))


@receiver(post_delete, sender=Reader, dispatch_uid="devices.reader_config_on_delete")
def clear_reader_config(sender: type[Reader], instance: Reader, **kwargs: object) -> None:
    device_id = instance.device_id
    transaction.on_commit(lambda: publish_config_quietly(device_id, None))
