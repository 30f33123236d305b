"""Readers' configuration, published retained on `<prefix>/devices/<id>/config`."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable

from django.conf import settings

from devices.models import Reader
from devices.mqtt.client import MqttClient, MqttError, client_from_settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0


def config_topic(device_id: str, prefix: str | None = None) -> str:
    return f"{prefix or settings.MQTT_TOPIC_PREFIX}/devices/{device_id}/config"


def publish_configs(
    items: Iterable[tuple[str, dict[str, object] | None]], client: MqttClient | None = None
) -> int:
    """Publish (device id, config) retained at QoS 1; None clears a retained config.

    Raises MqttError when the broker is unreachable; returns how many were published.
    """
    own = client is None
    client = client or client_from_settings(f"{settings.MQTT_CLIENT_ID}-config-{os.getpid()}")
    if own:
        client.connect(timeout=CONNECT_TIMEOUT_S)
    count = 0
    try:
        for device_id, config in items:
            payload = b"" if config is None else json.dumps(config, separators=(",", ":"))
            client.publish_and_wait(config_topic(device_id), payload, qos=1, retain=True)
            count += 1
    finally:
        if own:
            client.disconnect()
    return count


def publish_config_quietly(device_id: str, config: dict[str, object] | None) -> None:
    """For signals: a missing or unreachable broker is a warning, never a failed save."""
    if not settings.MQTT_URL:
        log.debug("MQTT_URL not set; config for %s not published", device_id)
        return
    try:
        publish_configs([(device_id, config)])
    except MqttError as exc:
        log.warning(
            "config for reader %s not published (%s); run manage.py publish_config once the "
            "broker is back",
            device_id,
            exc,
        )


def all_reader_configs() -> list[tuple[str, dict[str, object] | None]]:
    return [(reader.device_id, reader.config_payload()) for reader in Reader.objects.all()]
