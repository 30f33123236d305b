"""What the dynamic security plugin must be told so it holds what Django holds: pure planning.

Each broker user ZIAS manages has one role of its own, `zias:<kind>:<username>`, whose ACLs
are the same rules the ACL file carries (devices/broker_auth.py: a sender writes only under
its own id). ZIAS marks its clients by their text description, `zias:<fingerprint>`, where the
fingerprint is a digest of the password hash Django holds. The plugin never shows a password,
but the fingerprint says whether the broker got the current one.

Passwords: the plugin's commands take only plain passwords, and Django keeps only a hash, so a
password reaches the broker when it is made or rotated (with its plain text, after commit).
A client the broker lacks, or whose fingerprint is stale, cannot get the right password over
the API later: it is made (or remade) with no password at all, so nothing old keeps working,
and reported as needing one; `mosquitto_sync --dynsec-file` (broker stopped) can write
Django's hashes straight into the plugin's file, whose format is the same PBKDF2-SHA512.

`plan(wanted, present)` compares and returns the changes, each with its commands; running
them twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from devices.broker_auth import AclRule, BrokerUser

MARK = "zias:"
# The description of a client ZIAS made without a password (one it could not know).
NO_PASSWORD = f"{MARK}no-password"

Acl = tuple[str, str, bool]  # (acltype, topic, allow)
Command = dict[str, Any]
# Commands run in this order: roles exist before clients name them, clients go before roles.
ROLES, CLIENTS, CLEANUP = 0, 1, 2


def rolename(user: BrokerUser) -> str:
    return f"{MARK}{user.kind}:{user.username}"


def fingerprint(password_hash: str) -> str:
    """Names the stored hash without revealing anything a hash does not already reveal."""
    return MARK + hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def role_acls(rules: Iterable[AclRule]) -> frozenset[Acl]:
    """The broker_auth rules in the plugin's terms.

    `read` is the right to subscribe (the plugin lets every client receive what it may
    subscribe to); a topic without wildcards is matched literally. A shared subscription
    reaches the plugin as `$share/<group>/<filter>`, so a wildcard read also grants that.
    """
    acls: set[Acl] = set()
    for rule in rules:
        if rule.access in ("write", "readwrite"):
            acls.add(("publishClientSend", rule.topic, True))
        if rule.access in ("read", "readwrite"):
            wildcard = "+" in rule.topic or "#" in rule.topic
            acls.add(("subscribePattern" if wildcard else "subscribeLiteral", rule.topic, True))
            if wildcard and not rule.topic.startswith("$"):
                acls.add(("subscribePattern", f"$share/+/{rule.topic}", True))
    return frozenset(acls)


def acl_json(acls: frozenset[Acl]) -> list[dict[str, Any]]:
    return [
        {"acltype": kind, "topic": topic, "priority": 0, "allow": allow}
        for kind, topic, allow in sorted(acls)
    ]


@dataclass(frozen=True)
class Wanted:
    """A user as Django wants it at the broker; `password` only when its plain text is known."""

    user: BrokerUser
    password: str | None = None

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def rolename(self) -> str:
        return rolename(self.user)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.user.password_hash)


@dataclass(frozen=True)
class Present:
    """A client as the plugin lists it."""

    username: str
    description: str
    disabled: bool
    roles: frozenset[str]

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Present:
        return cls(
            username=entry["username"],
            description=entry.get("textdescription") or "",
            disabled=bool(entry.get("disabled", False)),
            roles=frozenset(r["rolename"] for r in entry.get("roles", [])),
        )

    @property
    def managed(self) -> bool:
        return self.description.startswith(MARK) or any(r.startswith(MARK) for r in self.roles)


def present_acls(role: dict[str, Any]) -> frozenset[Acl]:
    return frozenset((a["acltype"], a["topic"], bool(a["allow"])) for a in role.get("acls", []))


@dataclass
class Change:
    summary: str
    phase: int
    commands: list[Command]


# A client whose broker password Django has replaced: (username, broker's mark, Django's).
Stale = tuple[str, str, str]


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    # Users the broker holds without a working password: rotate theirs, or seed the file.
    needs_password: list[str] = field(default_factory=list)
    # Stale passwords seen, and those left for a later run to confirm (see plan()).
    stale: set[Stale] = field(default_factory=set)
    deferred: list[str] = field(default_factory=list)

    def add(self, summary: str, phase: int, *commands: Command) -> None:
        self.changes.append(Change(summary, phase, list(commands)))

    def commands(self) -> list[Command]:
        ordered = sorted(self.changes, key=lambda change: change.phase)
        return [command for change in ordered for command in change.commands]


def plan(
    wanted: list[Wanted],
    clients: dict[str, Present],
    roles: dict[str, frozenset[Acl]],
    *,
    scope: set[str] | None = None,
    confirmed: set[Stale] | None = None,
) -> Plan:
    """The changes that make the broker hold `wanted`.

    `clients` and `roles` are what the broker holds. With `scope` only those usernames are
    looked at (a change just committed); without it, every client and role ZIAS manages, and
    anything managed that Django no longer wants is deleted.

    A stale password is removed (the client remade without one) at once, unless `confirmed`
    is given: then only if that run saw the same stale pair too. The periodic reconcile passes
    its previous run's, so a rotation whose own after-commit push is still under way, in
    another process, is never undone by a reconcile that read the broker just before it.
    """
    result = Plan()
    wanted_roles = {w.rolename for w in wanted}
    for item in wanted:
        _plan_role(result, item, roles.get(item.rolename))
        _plan_client(result, item, clients.get(item.username), confirmed)
    wanted_names = {w.username for w in wanted}
    for present in clients.values():
        in_scope = scope is None or present.username in scope
        if present.managed and in_scope and present.username not in wanted_names:
            result.add(
                f"deleted {present.username} (no longer a broker user in Django)",
                CLIENTS,
                {"command": "deleteClient", "username": present.username},
            )
    for name in sorted(roles):
        owner = name.rsplit(":", 1)[-1]
        in_scope = scope is None or owner in scope
        if name.startswith(MARK) and in_scope and name not in wanted_roles:
            result.add(f"deleted role {name}", CLEANUP, {"command": "deleteRole", "rolename": name})
    return result


def _plan_role(result: Plan, item: Wanted, present: frozenset[Acl] | None) -> None:
    acls = role_acls(item.user.rules)
    if present is None:
        result.add(
            f"created role {item.rolename}",
            ROLES,
            {"command": "createRole", "rolename": item.rolename, "acls": acl_json(acls)},
        )
    elif present != acls:
        result.add(
            f"set the ACLs of role {item.rolename}",
            ROLES,
            {"command": "modifyRole", "rolename": item.rolename, "acls": acl_json(acls)},
        )


def _plan_client(
    result: Plan, item: Wanted, present: Present | None, confirmed: set[Stale] | None
) -> None:
    name, kind = item.username, item.user.kind
    stale = present is not None and present.description not in (item.fingerprint, NO_PASSWORD)
    if stale and item.password is None and present is not None:
        key = (name, present.description, item.fingerprint)
        result.stale.add(key)
        if confirmed is not None and key not in confirmed:
            result.deferred.append(name)
            return
    if present is None or (stale and item.password is None):
        # Missing, or holding a password Django has since replaced: (re)made, with the
        # password when it is known, else with none, so a stale one cannot be used.
        how = "created" if present is None else "remade without its stale password"
        commands = [] if present is None else [{"command": "deleteClient", "username": name}]
        commands.append(_create(item))
        if not item.user.enabled:
            commands.append({"command": "disableClient", "username": name})
        result.add(f"{how} {kind} {name}", CLIENTS, *commands)
        if item.password is None:
            result.needs_password.append(name)
        return
    if present.description != item.fingerprint:
        if item.password is not None:
            result.add(
                f"set the password of {kind} {name}",
                CLIENTS,
                {"command": "setClientPassword", "username": name, "password": item.password},
                {"command": "modifyClient", "username": name, "textdescription": item.fingerprint},
            )
        else:
            result.needs_password.append(name)
    if present.roles != {item.rolename}:
        result.add(
            f"set the role of {kind} {name}",
            CLIENTS,
            {"command": "modifyClient", "username": name, "roles": [{"rolename": item.rolename}]},
        )
    if present.disabled == item.user.enabled:
        verb = "enableClient" if item.user.enabled else "disableClient"
        result.add(
            f"{'enabled' if item.user.enabled else 'disabled'} {kind} {name}",
            CLIENTS,
            {"command": verb, "username": name},
        )


def _create(item: Wanted) -> Command:
    command: Command = {
        "command": "createClient",
        "username": item.username,
        "textname": f"ZIAS {item.user.kind}",
        "textdescription": item.fingerprint if item.password else NO_PASSWORD,
        "roles": [{"rolename": item.rolename}],
    }
    if item.password:
        command["password"] = item.password
    return command
