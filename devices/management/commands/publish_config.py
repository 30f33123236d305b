"""`manage.py publish_config`: publish every reader's configuration again (retained)."""

from __future__ import annotations

from typing import cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devices.models import Reader
from devices.mqtt.client import MqttError
from devices.mqtt.config import all_reader_configs, publish_configs


class Command(BaseCommand):
    help = (
        "Publish each reader's configuration (mode, debounce_s, heartbeat_s) retained on "
        "<prefix>/devices/<id>/config, e.g. after the broker lost its retained messages."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("device_ids", nargs="*", help="only these readers (default: all)")

    def handle(self, *args: object, **options: object) -> None:
        items = all_reader_configs()
        wanted = set(cast(list[str], options["device_ids"]))
        if wanted:
            unknown = wanted - {device for device, _ in items}
            if unknown:
                raise CommandError(f"unknown readers: {', '.join(sorted(unknown))}")
            items = [item for item in items if item[0] in wanted]
        try:
            count = publish_configs(items)
        except MqttError as exc:
            raise CommandError(f"could not publish: {exc}") from None
        self.stdout.write(
            f"published the configuration of {count} of {Reader.objects.count()} readers"
        )
