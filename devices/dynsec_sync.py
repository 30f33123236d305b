"""Make Mosquitto's dynamic security plugin hold what Django holds, over the control API.

- `sync_users({username: password or None})`: right after a commit, for the users it touched
  (a phone registered, a password rotated, a reader disabled or deleted). A new password
  goes to the broker here, in plain text, the one moment it is known.
- `reconcile()`: the whole set (ingest, readers, phones, their roles and ACLs); what
  `mosquitto_sync --dynsec` runs, and the ingest's tick every MQTT_DYNSEC_RECONCILE_SECONDS
  (`reconcile_if_due`), so a change the broker missed (it was down) is healed.

Both are off while MQTT_ADMIN_URL is unset; the password-file path (`mosquitto_sync --out`)
is for brokers without the plugin.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import connection

from devices.broker_auth import IngestCredentials, SyncResult, collect_users, ingest_credentials
from devices.credentials import mosquitto_hash
from devices.dynsec_plan import Acl, Plan, Present, Stale, Wanted, plan, present_acls
from devices.mqtt.dynsec import DynsecClient, DynsecCommandFailed, DynsecError, subject

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    changes: list[str] = field(default_factory=list)
    needs_password: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    users: int = 0
    stale: set[Stale] = field(default_factory=set)
    deferred: list[str] = field(default_factory=list)


def dynsec_enabled() -> bool:
    return bool(settings.MQTT_ADMIN_URL)


def admin_username() -> str:
    return unquote(urlsplit(settings.MQTT_ADMIN_URL).username or "")


def ingest_hash(ingest: IngestCredentials) -> str:
    """A fixed hash of the ingest's password (its salt comes from the username), so its
    fingerprint stays the same from run to run while the password does."""
    salt = hashlib.sha256(f"zias-ingest:{ingest.username}".encode()).digest()[:12]
    return mosquitto_hash(ingest.password, salt=salt)


def wanted_users(
    only: set[str] | None = None, passwords: dict[str, str | None] | None = None
) -> tuple[list[Wanted], SyncResult]:
    """Every user Django wants at the broker (or those in `only`), with the plain passwords
    known now: the ingest's, from MQTT_URL, and any in `passwords`."""
    passwords = passwords or {}
    ingest = ingest_credentials(settings.MQTT_URL)
    result = collect_users(
        settings.MQTT_TOPIC_PREFIX,
        ingest,
        {ingest.username: ingest_hash(ingest)},
        keep_disabled=True,
        only=only,
    )
    admin = admin_username()
    wanted = []
    for user in result.users:
        if only is not None and user.username not in only:
            continue
        if user.username == admin:
            result.warnings.append(f"{user.kind} {user.username}: the name is the broker admin's.")
            continue
        known = ingest.password if user.kind == "ingest" else passwords.get(user.username)
        wanted.append(Wanted(user, known))
    return wanted, result


def reconcile(
    client: DynsecClient | None = None, confirmed: set[Stale] | None = None
) -> SyncReport:
    """Bring the broker's whole set in line with Django; raises DynsecError if it cannot.

    The broker is read before the database: a user created or revoked by an after-commit push
    while this runs is then either seen in both or left alone, never deleted as unknown.
    (`confirmed`: see dynsec_plan.plan.)
    """
    with _admin(client) as dynsec:
        clients = {
            entry["username"]: Present.from_json(entry)
            for entry in dynsec.list_all("listClients", "clients")
            if entry["username"] != admin_username()
        }
        roles = {
            entry["rolename"]: present_acls(entry)
            for entry in dynsec.list_all("listRoles", "roles")
        }
        wanted, collected = wanted_users()
        changes = plan(wanted, clients, roles, confirmed=confirmed)
        _apply(dynsec, changes)
    return _report(changes, collected, len(wanted))


def sync_users(passwords: dict[str, str | None], client: DynsecClient | None = None) -> SyncReport:
    """Bring these usernames in line with Django (after a commit that changed them)."""
    scope = set(passwords)
    with _admin(client) as dynsec:
        clients = _get_clients(dynsec, sorted(scope - {admin_username()}))
        wanted, collected = wanted_users(scope, passwords)  # after the broker, as above
        names = {w.rolename for w in wanted} | {
            role for present in clients.values() for role in present.roles
        }
        roles = _get_roles(dynsec, sorted(names))
        changes = plan(wanted, clients, roles, scope=scope)
        _apply(dynsec, changes)
    return _report(changes, collected, len(wanted))


# --- The ingest's tick -------------------------------------------------------------------------

_next_reconcile = 0.0
_running: threading.Thread | None = None
_stale_seen: set[Stale] = set()  # by the previous periodic run


def reconcile_if_due() -> threading.Thread | None:
    """For the ingest's periodic tick: a full reconcile every MQTT_DYNSEC_RECONCILE_SECONDS
    (the first one at start), in a thread of its own so that readers waiting for their
    answer never wait for it. Returns the thread it started, if any. Never raises."""
    global _next_reconcile, _running
    if not dynsec_enabled() or time.monotonic() < _next_reconcile:
        return None
    if _running is not None and _running.is_alive():
        return None
    _next_reconcile = time.monotonic() + settings.MQTT_DYNSEC_RECONCILE_SECONDS
    _running = threading.Thread(target=_reconcile_and_log, name="dynsec-reconcile", daemon=True)
    _running.start()
    return _running


def _reconcile_and_log() -> None:
    global _stale_seen
    try:
        report = reconcile(confirmed=_stale_seen)
        _stale_seen = report.stale
    except Exception as exc:  # a thread's error would vanish; the next run retries
        log.warning(
            "broker reconcile failed (%s); next try in %ss",
            exc,
            settings.MQTT_DYNSEC_RECONCILE_SECONDS,
        )
        return
    finally:
        connection.close()  # this thread's own database connection
    for line in report.changes:
        log.warning("broker reconcile: %s", line)  # drift: something missed a change
    if report.deferred:
        log.info(
            "broker holds out-of-date passwords for %s; removed next time if still so",
            ", ".join(report.deferred),
        )
    if report.needs_password:
        log.warning(
            "broker users without a working password (rotate them): %s",
            ", ".join(report.needs_password),
        )


# --- Plumbing ----------------------------------------------------------------------------------


class _admin:
    """The given client, or a new admin connection from MQTT_ADMIN_URL closed afterwards."""

    def __init__(self, client: DynsecClient | None) -> None:
        self.given = client
        self.own: DynsecClient | None = None

    def __enter__(self) -> DynsecClient:
        if self.given is not None:
            return self.given
        if not settings.MQTT_ADMIN_URL:
            raise DynsecError("MQTT_ADMIN_URL is not set; the dynamic security sync is off")
        self.own = DynsecClient.from_url(settings.MQTT_ADMIN_URL).__enter__()
        return self.own

    def __exit__(self, *exc: object) -> None:
        if self.own is not None:
            self.own.__exit__(*exc)


def _get_clients(dynsec: DynsecClient, usernames: list[str]) -> dict[str, Present]:
    answers = dynsec.run([{"command": "getClient", "username": name} for name in usernames])
    found = {}
    for name, answer in zip(usernames, answers, strict=True):
        if answer.error is None:
            found[name] = Present.from_json(answer.data["client"])
        elif answer.error != "Client not found":
            raise DynsecError(f"getClient {name}: {answer.error}")
    return found


def _get_roles(dynsec: DynsecClient, names: list[str]) -> dict[str, frozenset[Acl]]:
    answers = dynsec.run([{"command": "getRole", "rolename": name} for name in names])
    found = {}
    for name, answer in zip(names, answers, strict=True):
        if answer.error is None:
            found[name] = present_acls(answer.data["role"])
        elif answer.error != "Role not found":
            raise DynsecError(f"getRole {name}: {answer.error}")
    return found


# A create that finds the thing there already lost a race with an after-commit push from
# another process, which made it with what this run would have given it, or better (the
# password). Anything else the plugin refuses is an error.
_ALREADY_THERE = {("createClient", "Client already exists"), ("createRole", "Role already exists")}


def _apply(dynsec: DynsecClient, changes: Plan) -> None:
    commands = changes.commands()
    for command, answer in zip(commands, dynsec.run(commands), strict=True):
        if answer.error and (answer.command, answer.error) not in _ALREADY_THERE:
            raise DynsecCommandFailed(answer.command, answer.error, subject(command))


def _report(changes: Plan, collected: SyncResult, users: int) -> SyncReport:
    return SyncReport(
        changes=[change.summary for change in changes.changes],
        needs_password=changes.needs_password,
        warnings=collected.warnings,
        users=users,
        stale=changes.stale,
        deferred=changes.deferred,
    )
