"""`manage.py ingest`: the long-running MQTT ingest loop (see devices/mqtt/loop.py)."""

from __future__ import annotations

import signal
import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devices.mqtt.client import BrokerUnavailable, client_from_settings
from devices.mqtt.loop import IngestLoop, LoopConfig


class Command(BaseCommand):
    help = (
        "Receive reader and phone events over MQTT, store them once, apply them, and answer "
        "readers. Acknowledges each message only after its effects are committed; stops "
        "cleanly on SIGTERM/SIGINT after finishing the current batch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--shared-group",
            default=settings.MQTT_SHARED_GROUP,
            help="MQTT 5 shared subscription group, so several ingest processes split the "
            "stream (default: MQTT_SHARED_GROUP).",
        )
        parser.add_argument(
            "--client-id",
            default="",
            help="MQTT client id; keep it stable across restarts so the broker's queued "
            "messages reach it (default: MQTT_CLIENT_ID, plus the host name in a shared group).",
        )
        parser.add_argument("--batch-size", type=int, default=settings.INGEST_BATCH_SIZE)
        parser.add_argument("--batch-ms", type=int, default=settings.INGEST_BATCH_MS)
        parser.add_argument("--tick-seconds", type=float, default=settings.INGEST_TICK_SECONDS)

    def handle(self, *args: object, **options: object) -> None:
        group = str(options["shared_group"] or "")
        client_id = str(options["client_id"] or "") or (
            f"{settings.MQTT_CLIENT_ID}-{socket.gethostname()}"
            if group
            else settings.MQTT_CLIENT_ID
        )
        batch_size = int(options["batch_size"])  # type: ignore[call-overload]
        try:
            client = client_from_settings(
                client_id,
                persistent=True,
                manual_ack=True,
                receive_maximum=min(65535, batch_size * 4),
            )
        except BrokerUnavailable as exc:
            raise CommandError(f"{exc}: set MQTT_URL=mqtt://user:password@host:1883") from None
        loop = IngestLoop(
            client,
            LoopConfig(
                prefix=settings.MQTT_TOPIC_PREFIX,
                batch_size=batch_size,
                batch_ms=int(options["batch_ms"]),  # type: ignore[call-overload]
                tick_s=float(options["tick_seconds"]),  # type: ignore[arg-type]
                shared_group=group,
                name=client_id,
            ),
        )
        signal.signal(signal.SIGTERM, loop.request_stop)
        signal.signal(signal.SIGINT, loop.request_stop)
        loop.run()
