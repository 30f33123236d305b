"""`manage.py serve`: Daphne and the MQTT ingest loop in one process.

For the zero-setup run, where REDIS_URL is unset and the channel layer lives in memory: a
`room.changed` from the ingest reaches the live pages only if the ingest and the web server
share a process. Daphne owns the main thread (Twisted wants it, and its reactor turns SIGINT
and SIGTERM into a shutdown); the ingest loop runs in a background thread and is asked to
stop, finishing its current batch, once the reactor has stopped. With Redis configured this
command works too, but production runs `daphne` and `ingest` as separate services.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable
from typing import Any

# Twisted is import-order sensitive: daphne.server installs the asyncio reactor first.
from daphne.server import Server  # isort: skip
from daphne.endpoints import build_endpoint_description_strings
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from paho.mqtt.enums import MQTTProtocolVersion

from attendance import live
from devices.mqtt.client import BrokerUnavailable, client_from_settings
from devices.mqtt.loop import IngestLoop, LoopConfig

log = logging.getLogger("zias.serve")
INGEST_STOP_TIMEOUT_S = 30.0


def _ingest_loop(mqtt311: bool) -> IngestLoop:
    """The loop as `manage.py ingest` builds it with its default options."""
    batch_size = settings.INGEST_BATCH_SIZE
    protocol = {"protocol": MQTTProtocolVersion.MQTTv311} if mqtt311 else {}
    client = client_from_settings(
        settings.MQTT_CLIENT_ID,
        persistent=True,
        manual_ack=True,
        receive_maximum=min(65535, batch_size * 4),
        **protocol,
    )
    return IngestLoop(
        client,
        LoopConfig(
            prefix=settings.MQTT_TOPIC_PREFIX,
            batch_size=batch_size,
            batch_ms=settings.INGEST_BATCH_MS,
            tick_s=settings.INGEST_TICK_SECONDS,
            name=settings.MQTT_CLIENT_ID,
        ),
    )


def _send_on(loop: asyncio.AbstractEventLoop) -> live.Sender:
    """A broadcaster sender that runs group_send on the web server's own event loop.

    The in-memory channel layer's queues belong to Daphne's loop; putting into them from the
    broadcaster's thread would not wake that loop, so the page would see the change late.
    """
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def send(group: str, message: dict[str, object]) -> None:
        if layer is None:
            return
        sent: Awaitable[None] = layer.group_send(group, message)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(sent, loop))  # type: ignore[arg-type]

    return send


def _run_ingest(ingest: IngestLoop, failed: threading.Event) -> None:
    try:
        ingest.run()
    except Exception:
        log.exception("the ingest loop stopped")
        failed.set()
        # A web server without its ingest would show pages that never change: stop both.
        from twisted.internet import reactor

        reactor.callFromThread(reactor.stop)  # type: ignore[attr-defined,misc]
    finally:
        close_old_connections()


class Command(BaseCommand):
    help = (
        "Serve the web pages, API and live WebSockets (Daphne) and run the MQTT ingest loop in "
        "the same process, so live updates work with the in-memory channel layer. Ctrl-C or "
        "SIGTERM stops both cleanly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--mqtt311",
            action="store_true",
            help="Speak MQTT 3.1.1 from the start. Without it the ingest tries MQTT 5 and "
            "falls back when the broker refuses it or gives no CONNACK in time (as the "
            "zero-setup broker, amqtt, does); this only skips that wait.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        from twisted.internet import reactor

        from zias.asgi import application

        try:
            ingest = _ingest_loop(bool(options["mqtt311"]))
        except BrokerUnavailable as exc:
            raise CommandError(f"{exc}: set MQTT_URL=mqtt://user:password@host:1883") from None
        server_loop: asyncio.AbstractEventLoop = reactor._asyncioEventloop  # type: ignore[attr-defined]
        # The one broadcaster of this process hands its sends to the server's loop.
        live._broadcaster = live.RoomBroadcaster(send=_send_on(server_loop))

        failed = threading.Event()
        worker = threading.Thread(
            target=_run_ingest, args=(ingest, failed), name="ingest", daemon=True
        )
        host, port = options["host"], options["port"]
        server = Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,  # SIGINT/SIGTERM stop the reactor, then run() returns
            action_logger=self._log_action,
            ready_callable=worker.start,
        )
        self.stdout.write(f"Serving http://{host}:{port}/ with the MQTT ingest in-process")
        try:
            server.run()
        finally:
            ingest.request_stop()
            if worker.is_alive():
                worker.join(INGEST_STOP_TIMEOUT_S)
        if failed.is_set():
            raise CommandError("the ingest loop failed; see the log above")
        self.stdout.write("Stopped.")

    def _log_action(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if protocol == "http" and action == "complete":
            log.info("%s %s %s", details.get("method"), details.get("path"), details.get("status"))
