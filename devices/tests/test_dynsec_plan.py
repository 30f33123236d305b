"""The plan of dynamic security commands, the plugin-file format, and the after-commit batching.

Pure or database-only; the same paths against a real broker are in test_broker_dynsec.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from devices import dynsec_sync
from devices.broker_auth import BrokerUser, ingest_rules, phone_rules, reader_rules
from devices.credentials import mosquitto_hash
from devices.dynsec_file import plugin_password, write_dynsec_file
from devices.dynsec_hooks import credential_changed
from devices.dynsec_plan import NO_PASSWORD, Present, Wanted, plan, role_acls

HASH = mosquitto_hash("door-password")


def reader(name: str = "door-1", enabled: bool = True, stored: str = HASH) -> Wanted:
    return Wanted(BrokerUser(name, stored, "reader", reader_rules("z", name), enabled))


def as_broker_holds(*items: Wanted) -> tuple[dict[str, Present], dict[str, Any]]:
    clients = {
        w.username: Present(w.username, w.fingerprint, not w.user.enabled, frozenset({w.rolename}))
        for w in items
    }
    return clients, {w.rolename: role_acls(w.user.rules) for w in items}


def commands(result: Any) -> list[tuple[str, str]]:
    return [(c["command"], c.get("username") or c.get("rolename")) for c in result.commands()]


def test_a_reader_subscribes_to_its_own_topics_literally_and_the_ingest_by_pattern() -> None:
    assert role_acls(reader_rules("z", "d1")) == {
        ("publishClientSend", "z/devices/d1/events", True),
        ("publishClientSend", "z/devices/d1/status", True),
        ("subscribeLiteral", "z/devices/d1/ack", True),
        ("subscribeLiteral", "z/devices/d1/config", True),
    }
    ingest = role_acls(ingest_rules("z"))
    # The plugin sees a shared subscription with its $share/<group>/ prefix.
    assert ("subscribePattern", "$share/+/z/#", True) in ingest
    assert ("subscribePattern", "$SYS/#", True) in ingest
    assert not any(topic.startswith("$share/+/$") for _, topic, _ in ingest)
    assert role_acls(phone_rules("z", "p1")) == {("publishClientSend", "z/phones/p1/ble", True)}


def test_an_empty_broker_gets_roles_first_and_clients_without_passwords_it_cannot_know() -> None:
    result = plan([reader()], {}, {})
    assert commands(result) == [("createRole", "zias:reader:door-1"), ("createClient", "door-1")]
    create = result.commands()[1]
    assert "password" not in create and create["textdescription"] == NO_PASSWORD
    assert result.needs_password == ["door-1"]


def test_a_known_password_is_sent_and_a_broker_that_holds_everything_gets_nothing() -> None:
    item = Wanted(reader().user, "door-password")
    assert plan([item], {}, {}).commands()[1]["password"] == "door-password"
    clients, roles = as_broker_holds(item, reader("door-2", enabled=False))
    result = plan([item, reader("door-2", enabled=False)], clients, roles)
    assert result.changes == [] and result.needs_password == []


def test_a_password_django_replaced_is_set_when_known_and_removed_when_not() -> None:
    clients, roles = as_broker_holds(reader(stored=mosquitto_hash("old")))
    known = plan([Wanted(reader().user, "door-password")], clients, roles)
    assert commands(known) == [("setClientPassword", "door-1"), ("modifyClient", "door-1")]
    unknown = plan([reader()], clients, roles)
    assert commands(unknown) == [("deleteClient", "door-1"), ("createClient", "door-1")]
    assert unknown.needs_password == ["door-1"]
    # Once remade without one, it waits for a rotation: nothing more to do each run.
    held = {"door-1": Present("door-1", NO_PASSWORD, False, frozenset({"zias:reader:door-1"}))}
    again = plan([reader()], held, roles)
    assert again.changes == [] and again.needs_password == ["door-1"]


def test_the_periodic_run_removes_a_stale_password_only_when_the_run_before_saw_it_too() -> None:
    clients, roles = as_broker_holds(reader(stored=mosquitto_hash("old")))
    first = plan([reader()], clients, roles, confirmed=set())
    assert first.changes == [] and first.deferred == ["door-1"]
    second = plan([reader()], clients, roles, confirmed=first.stale)
    assert commands(second) == [("deleteClient", "door-1"), ("createClient", "door-1")]


def test_roles_acls_and_enabled_state_are_put_back() -> None:
    clients, roles = as_broker_holds(reader())
    clients["door-1"] = Present("door-1", reader().fingerprint, True, frozenset())
    roles["zias:reader:door-1"] = frozenset({("publishClientSend", "z/#", True)})
    assert commands(plan([reader()], clients, roles)) == [
        ("modifyRole", "zias:reader:door-1"),
        ("modifyClient", "door-1"),
        ("enableClient", "door-1"),
    ]


def test_only_zias_clients_are_deleted_and_a_scoped_plan_deletes_only_its_scope() -> None:
    clients, roles = as_broker_holds(reader("gone"), reader("other"))
    clients["monitoring"] = Present("monitoring", "", False, frozenset({"ops"}))
    roles["ops"] = frozenset()
    full = plan([], clients, roles)
    assert sorted(commands(full)) == [
        ("deleteClient", "gone"),
        ("deleteClient", "other"),
        ("deleteRole", "zias:reader:gone"),
        ("deleteRole", "zias:reader:other"),
    ]
    scoped = plan([], clients, roles, scope={"gone"})
    assert commands(scoped) == [("deleteClient", "gone"), ("deleteRole", "zias:reader:gone")]


def test_djangos_hash_is_the_plugins_own_password_format() -> None:
    fields = plugin_password(HASH)
    assert fields is not None
    _, _, iterations, salt, digest = HASH.split("$")
    assert fields == {"password": digest, "salt": salt, "iterations": int(iterations)}
    assert plugin_password("$6$c2FsdA==$aGFzaA==") is None  # salted SHA512: not PBKDF2
    assert plugin_password("") is None


def test_the_plugin_file_keeps_what_zias_does_not_manage(tmp_path: Path) -> None:
    path = tmp_path / "dynamic-security.json"
    path.write_text(
        json.dumps(
            {
                "clients": [{"username": "ops", "roles": [{"rolename": "ops"}]}],
                "roles": [{"rolename": "ops", "acls": []}],
                "defaultACLAccess": {"publishClientSend": False},
            }
        )
    )
    report = write_dynsec_file(path, [reader(), reader("door-2", enabled=False)], ("adm", "pw"))
    tree = json.loads(path.read_text())
    by_name = {c["username"]: c for c in tree["clients"]}
    assert set(by_name) == {"ops", "adm", "door-1", "door-2"}
    assert by_name["door-1"]["salt"] == HASH.split("$")[3]
    assert by_name["door-2"]["disabled"] is True and "disabled" not in by_name["door-1"]
    assert tree["defaultACLAccess"] == {"publishClientSend": False}
    assert report.written and report.needs_password == []
    again = write_dynsec_file(path, [reader(), reader("door-2", enabled=False)], ("adm", "pw"))
    assert not again.written  # the admin's password already matches: nothing to write


@pytest.fixture
def sent(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str | None]]:
    settings.MQTT_ADMIN_URL = "mqtt://adm:pw@127.0.0.1:1"
    calls: list[dict[str, str | None]] = []

    def record(pending: dict[str, str | None]) -> dynsec_sync.SyncReport:
        calls.append(dict(pending))
        return dynsec_sync.SyncReport()

    monkeypatch.setattr(dynsec_sync, "sync_users", record)
    return calls


@pytest.mark.django_db(transaction=True)
def test_one_transactions_changes_reach_the_broker_once_after_commit(sent: list) -> None:
    with transaction.atomic():
        credential_changed("door-1")
        credential_changed("door-1", "new-password")
        credential_changed("door-1")  # a later save does not lose the password
        credential_changed("ph-1")
        assert sent == []
    assert sent == [{"door-1": "new-password", "ph-1": None}]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_is_never_sent(sent: list) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        credential_changed("door-1", "never-given-out")
        raise RuntimeError
    with transaction.atomic():
        credential_changed("door-2")
    assert sent == [{"door-2": None}]


def test_without_an_admin_url_nothing_is_queued(settings: Any) -> None:
    settings.MQTT_ADMIN_URL = ""
    credential_changed("door-1", "pw")  # no database needed: it returns at once
