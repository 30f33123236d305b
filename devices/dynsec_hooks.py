"""Tell the broker about credential changes once they are committed.

`credential_changed(username, password)` is called wherever a reader's or phone's broker
access changes (registered, rotated, revoked, disabled, deleted). The usernames of one
transaction are collected and applied together after it commits, over one admin connection;
a rolled-back change tells the broker nothing. A broker that cannot be reached is logged,
never an error for the person who made the change: the ingest's periodic reconcile repairs
everything but a new password, which then needs rotating again (it is never stored).

Called by devices/dynsec_signals.py, from Django's signals, so models need not import it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction

log = logging.getLogger(__name__)

_PENDING = "zias_dynsec_pending"


def credential_changed(username: str, password: str | None = None) -> None:
    """After commit, make the broker hold `username` as Django does; `password` is the plain
    new password when one was just made (the only moment it is known)."""
    if not settings.MQTT_ADMIN_URL:
        return
    connection = transaction.get_connection(DEFAULT_DB_ALIAS)
    queued: tuple[dict[str, str | None], object] | None = getattr(connection, _PENDING, None)
    # Reuse this transaction's batch while its callback is still queued; a rollback drops
    # the callback (Django's run_on_commit holds (savepoints, callback, robust) entries),
    # and with it what the batch held, passwords included.
    if queued is None or not any(entry[1] is queued[1] for entry in connection.run_on_commit):
        pending: dict[str, str | None] = {username: password}

        def apply() -> None:
            setattr(connection, _PENDING, None)
            _apply(pending)

        setattr(connection, _PENDING, (pending, apply))
        transaction.on_commit(apply)  # at once outside a transaction
        return
    pending = queued[0]
    if password is not None or username not in pending:
        pending[username] = password


def _apply(pending: dict[str, str | None]) -> None:
    from devices.broker_auth import BrokerAuthError
    from devices.dynsec_sync import sync_users
    from devices.mqtt.dynsec import DynsecError

    try:
        report = sync_users(pending)
    except (DynsecError, BrokerAuthError) as exc:
        new = sorted(name for name, password in pending.items() if password)
        log.warning(
            "broker not told about %s (%s); the ingest's reconcile retries%s",
            ", ".join(sorted(pending)),
            exc,
            f", but the new passwords of {', '.join(new)} must be rotated again" if new else "",
        )
        return
    for line in report.changes:
        log.info("broker: %s", line)
