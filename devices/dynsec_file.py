"""Write Django's users straight into the dynamic security plugin's JSON file (broker stopped).

The control API takes only plain passwords, which Django does not keep. But the plugin's
file stores each password as PBKDF2-SHA512 (`password`, `salt`, `iterations`, base64), the
very scheme of the `$7$` hashes in devices/credentials.py, so the file can hold Django's
hashes unchanged: every reader and phone logs in with the password it already has. The plugin
reads the file only when the broker starts and rewrites it after every command, so this is
for a stopped broker: compose's one-shot `mqtt-sync` runs it before Mosquitto starts.

Clients and roles ZIAS does not manage (marked as in devices/dynsec_plan.py) are kept as
they are. The admin login from MQTT_ADMIN_URL is added (or its password set) with the same
rights `mosquitto_ctrl dynsec init` gives it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.broker_auth import write_atomically
from devices.credentials import mosquitto_hash
from devices.dynsec_plan import MARK, NO_PASSWORD, Wanted, acl_json, role_acls

ADMIN_ROLE = "admin"
# What `mosquitto_ctrl dynsec init` grants its admin: the control topics and $SYS, and
# reading (not writing) everything else, for diagnosis.
ADMIN_ACLS = [
    {"acltype": "publishClientSend", "topic": "$CONTROL/dynamic-security/#", "allow": True},
    {"acltype": "publishClientReceive", "topic": "$CONTROL/dynamic-security/#", "allow": True},
    {"acltype": "subscribePattern", "topic": "$CONTROL/dynamic-security/#", "allow": True},
    {"acltype": "publishClientReceive", "topic": "$SYS/#", "allow": True},
    {"acltype": "subscribePattern", "topic": "$SYS/#", "allow": True},
    {"acltype": "publishClientReceive", "topic": "#", "allow": True},
    {"acltype": "subscribePattern", "topic": "#", "allow": True},
    {"acltype": "unsubscribePattern", "topic": "#", "allow": True},
]
# The plugin's defaults: nobody publishes or subscribes unless a role allows it.
DEFAULT_ACCESS = {
    "publishClientSend": False,
    "publishClientReceive": True,
    "subscribe": False,
    "unsubscribe": True,
}
_SALT_BYTES, _HASH_BYTES = 12, 64  # what the plugin accepts, and what credentials.py makes
FILE_MODE = 0o600  # the broker's own file: it reads and rewrites it


@dataclass
class FileReport:
    written: bool
    clients: int
    needs_password: list[str] = field(default_factory=list)


def plugin_password(stored: str) -> dict[str, Any] | None:
    """`$7$iterations$salt$hash` as the plugin's fields, or None if it cannot hold it."""
    try:
        _, scheme, rounds, salt, digest = stored.split("$")
        sizes = len(base64.b64decode(salt)), len(base64.b64decode(digest))
        iterations = int(rounds)
    except ValueError:
        return None
    if scheme != "7" or sizes != (_SALT_BYTES, _HASH_BYTES) or iterations < 1:
        return None
    return {"password": digest, "salt": salt, "iterations": iterations}


def write_dynsec_file(
    path: Path,
    wanted: list[Wanted],
    admin: tuple[str, str] | None,
    group: int | None = None,
) -> FileReport:
    """Put `wanted` (and the admin) into the plugin's file at `path`; the rest is kept."""
    tree = _read(path)
    report = FileReport(written=False, clients=len(wanted))
    clients = [c for c in tree.get("clients", []) if not _managed(c)]
    roles = [r for r in tree.get("roles", []) if not str(r.get("rolename", "")).startswith(MARK)]
    if admin is not None:
        _put_admin(clients, roles, *admin)
    for item in sorted(wanted, key=lambda w: w.username):
        clients.append(_client_entry(item, report))
        roles.append({"rolename": item.rolename, "acls": acl_json(role_acls(item.user.rules))})
    tree["clients"], tree["roles"] = clients, roles
    tree.setdefault("groups", [])
    tree.setdefault("defaultACLAccess", dict(DEFAULT_ACCESS))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(tree, indent=1) + "\n"
    report.written = write_atomically(path, text, mode=FILE_MODE, group=group)
    return report


def _read(path: Path) -> dict[str, Any]:
    try:
        tree = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: not a dynamic security config (expected a JSON object)")
    return tree


def _managed(client: dict[str, Any]) -> bool:
    description = str(client.get("textdescription", ""))
    roles = [str(r.get("rolename", "")) for r in client.get("roles", [])]
    return description.startswith(MARK) or any(r.startswith(MARK) for r in roles)


def _client_entry(item: Wanted, report: FileReport) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "username": item.username,
        "textname": f"ZIAS {item.user.kind}",
        "roles": [{"rolename": item.rolename}],
    }
    fields = plugin_password(item.user.password_hash)
    if fields is None:
        entry["textdescription"] = NO_PASSWORD
        report.needs_password.append(item.username)
    else:
        entry["textdescription"] = item.fingerprint
        entry.update(fields)
    if not item.user.enabled:
        entry["disabled"] = True
    return entry


def _put_admin(
    clients: list[dict[str, Any]], roles: list[dict[str, Any]], username: str, password: str
) -> None:
    entry = next((c for c in clients if c.get("username") == username), None)
    if entry is None:
        entry = {"username": username, "textname": "ZIAS broker admin", "roles": []}
        clients.append(entry)
    if not _password_matches(entry, password):
        entry.update(plugin_password(mosquitto_hash(password)) or {})
    if ADMIN_ROLE not in {r.get("rolename") for r in entry.get("roles", [])}:
        entry.setdefault("roles", []).append({"rolename": ADMIN_ROLE})
    if not any(r.get("rolename") == ADMIN_ROLE for r in roles):
        roles.append({"rolename": ADMIN_ROLE, "acls": ADMIN_ACLS})
    entry.pop("disabled", None)


def _password_matches(entry: dict[str, Any], password: str) -> bool:
    try:
        salt = base64.b64decode(entry["salt"])
        expected = base64.b64decode(entry["password"])
        iterations = int(entry["iterations"])
    except (KeyError, ValueError, TypeError):
        return False
    actual = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, len(expected))
    return hmac.compare_digest(actual, expected)
