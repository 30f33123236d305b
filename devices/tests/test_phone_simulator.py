"""The phone simulator publishes CONTRACT BLE reports that the ingest turns into presence."""

from __future__ import annotations

import time

import pytest

from attendance.demo import seed_demo
from attendance.models import Visit
from devices import simulator
from devices.mqtt import contract
from devices.mqtt.pipeline import IncomingMessage, handle_batch


class FakeClient:
    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: str, qos: int = 0, retain: bool = False) -> None:
        self.sent.append((topic, payload.encode()))

    def disconnect(self) -> None:
        pass

    def loop_stop(self) -> None:
        pass


@pytest.mark.django_db
def test_simulated_phones_publish_contract_reports_that_place_students(monkeypatch):
    seed_demo(students=9)
    clients: list[FakeClient] = []

    def connect(broker, sender, password, prefix, *, will=True):
        assert not will  # phones have no Last Will in the contract
        clients.append(FakeClient(sender))
        return clients[-1]

    monkeypatch.setattr(simulator, "connect_reader", connect)
    sim = simulator.PhoneSimulation("mqtt://127.0.0.1:1", "zsim", "pw", count=2, seed=3)
    assert [c.client_id for c in clients] == [p.phone_id for p in sim.phones]
    assert all(p.phone_id.startswith("ph-") for p in sim.phones)
    # Fifteen simulated minutes are due, ending now: the reports' `ts` are the last quarter
    # hour, as a phone's would be, not the quarter hour ahead (which the server would judge
    # late: dated in the future, evidence only).
    sim.started = time.monotonic() - 15 * 60
    sim.wall_start = time.time() - 15 * 60
    sim.tick()
    sent = [m for c in clients for m in c.sent]
    assert sim.published == len(sent) >= 2 * 60
    for topic, payload in sent:
        assert topic.startswith("zsim/phones/ph-") and topic.endswith("/ble")
        contract.parse_phone_ble(payload)  # raises if outside the contract
    handle_batch([IncomingMessage(t, p) for t, p in sent], prefix="zsim")
    # Somebody walking the building for a quarter of an hour is somewhere some of the time.
    assert Visit.objects.filter(source="ble").exists()
