"""Simulated door readers: students walk between rooms and tap their cards, over real MQTT.

Phones (PhoneSimulation) walk between the beacon rooms and publish BLE reports.
Each reader is its own MQTT client (client id and username = device id), sends its status
with a Last Will, and publishes CONTRACT events: PIR motion in the order a person walks
through the door, then the card tap. Event time (`ts`) is the simulated moment.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from attendance.models import ClassSession
from beacons.models import Beacon, BeaconKind, Phone
from beacons.simulation import SimConfig, WalkingPhone
from devices.models import Card, Reader

log = logging.getLogger(__name__)


@dataclass
class SimReader:
    device_id: str
    room_id: int
    mode: str
    client: mqtt.Client
    seq: int = 0
    boot: int = field(default_factory=lambda: random.randint(1, 999))

    def next_id(self) -> str:
        self.seq += 1
        return f"{self.boot}-{self.seq}"


@dataclass
class SimStudent:
    uid: str
    course_rooms: set[int]
    inside: int | None = None  # room id, or None when outside


def connect_reader(
    broker_url: str, device_id: str, password: str, prefix: str, *, will: bool = True
) -> mqtt.Client:
    """A sender's own client: client id and username are its id. Readers leave a Last Will
    on their status topic; phones (`will=False`) have none in the contract."""
    parts = urlsplit(broker_url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311
    )
    client.username_pw_set(device_id, password)
    if will:
        status_topic = f"{prefix}/devices/{device_id}/status"
        client.will_set(status_topic, json.dumps({"online": False}), qos=1, retain=True)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
    client.loop_start()
    return client


class Simulation:
    def __init__(self, broker_url: str, prefix: str, password: str, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.readers = [
            SimReader(
                r.device_id,
                r.room_id,
                r.mode,
                connect_reader(broker_url, r.device_id, password, prefix),
            )
            for r in Reader.objects.enabled()
        ]
        rooms_by_student: dict[int, set[int]] = {}
        for session in ClassSession.objects.prefetch_related("course__students"):
            for student in session.course.students.all():
                rooms_by_student.setdefault(student.pk, set()).add(session.room_id)
        self.students = [
            SimStudent(card.uid, rooms_by_student.get(card.student_id, set()))
            for card in Card.objects.filter(active=True)
        ]
        self.published = 0

    def announce(self) -> None:
        for reader in self.readers:
            status = {
                "online": True,
                "fw": "sim-1.0",
                "ip": "10.0.0.1",
                "rssi": -60,
                "uptime_s": 1,
                "queued": 0,
            }
            self._publish(reader, "status", status, retain=True)

    def step(self) -> None:
        """One student walks through one door: motion in walking order, then the tap."""
        student = self.rng.choice(self.students)
        if student.inside is None:
            rooms = sorted(student.course_rooms) or sorted({r.room_id for r in self.readers})
            target = self.rng.choice(rooms)
            going = "in"
        else:
            target, going = student.inside, "out"
        reader = next((r for r in self.readers if r.room_id == target), None)
        if reader is None:
            return
        now_ms = int(time.time() * 1000)
        first, second = ("outer", "inner") if going == "in" else ("inner", "outer")
        self._event(reader, {"type": "pir", "sensor": first, "state": 1}, now_ms - 900)
        self._event(reader, {"type": "pir", "sensor": second, "state": 1}, now_ms - 400)
        tap = {"type": "rfid", "uid": student.uid}
        if reader.mode not in {"pir", "toggle"}:
            tap["dir"] = going
        self._event(reader, tap, now_ms)
        student.inside = target if going == "in" else None

    def _event(self, reader: SimReader, body: dict, ts_ms: int) -> None:
        self._publish(reader, "events", {"id": reader.next_id(), "ts": ts_ms, **body})

    def _publish(self, reader: SimReader, kind: str, body: dict, retain: bool = False) -> None:
        topic = f"{self.prefix}/devices/{reader.device_id}/{kind}"
        reader.client.publish(topic, json.dumps(body, separators=(",", ":")), qos=1, retain=retain)
        self.published += 1

    def close(self) -> None:
        for reader in self.readers:
            # A clean disconnect sends no Last Will, so say "offline" ourselves.
            self._publish(reader, "status", {"online": False}, retain=True)
            reader.client.disconnect()
            reader.client.loop_stop()


# -- phones -----------------------------------------------------------------------------------


@dataclass
class SimPhone:
    phone_id: str
    client: mqtt.Client
    walk: WalkingPhone
    next_at: float  # simulated seconds since the start, when its next report is due
    seq: int = 0


class PhoneSimulation:
    """Students' phones walking between the rooms that have iBeacons, each its own MQTT
    client (client id = username = phone id), publishing one CONTRACT `ble` report per scan
    window: what beacons.simulation's path-loss model says the phone heard.

    The simulated building has the demo's iBeacon rooms in a row (ordered by code), one
    beacon each; simulated beacon k is the k-th of those rooms' iBeacons."""

    def __init__(
        self, broker_url: str, prefix: str, password: str, count: int, seed: int = 1
    ) -> None:
        self.prefix = prefix
        beacons = list(
            Beacon.objects.filter(kind=BeaconKind.IBEACON, room__isnull=False)
            .order_by("room__code", "id")
            .values_list("room__code", "uuid", "major", "minor")
        )
        by_room: dict[str, tuple[str, int, int]] = {}
        for room, uuid, major, minor in beacons:
            if major is not None and minor is not None:
                by_room.setdefault(room, (uuid, major, minor))
        self.identities = list(by_room.values())[:10]
        self.config = SimConfig(rooms=max(1, len(self.identities)))
        rng = random.Random(seed)
        phones = Phone.objects.filter(active=True).order_by("phone_id")[:count]
        self.started = time.monotonic()
        self.wall_start = time.time()
        self.phones = [
            SimPhone(
                p.phone_id,
                connect_reader(broker_url, p.phone_id, password, prefix, will=False),
                WalkingPhone(self.config, rng.getrandbits(32), 24 * 3600),
                rng.uniform(1.0, self.config.report_interval_s),
            )
            for p in phones
        ]
        self.published = 0

    def tick(self) -> None:
        """Publish every report that has fallen due."""
        if not self.identities:
            return
        t = time.monotonic() - self.started
        for phone in self.phones:
            while phone.next_at <= t:
                self._report(phone, phone.next_at)
                jitter = random.gauss(0, self.config.report_jitter_s)
                phone.next_at += max(1.0, self.config.report_interval_s + jitter)

    def _report(self, phone: SimPhone, t: float) -> None:
        # A window ending at t: the walk starts one window in, so there is always one.
        sightings = phone.walk.window(t + self.config.window_s)
        phone.seq += 1
        body = {
            "id": f"{phone.seq}",
            "ts": int((self.wall_start + t) * 1000),
            "window_s": int(self.config.window_s),
            "beacons": [
                {"uuid": u, "major": ma, "minor": mi, "rssi": s.rssi, "n": s.n}
                for s in sightings
                for u, ma, mi in [self.identities[s.beacon_id - 1]]
            ],
        }
        topic = f"{self.prefix}/phones/{phone.phone_id}/ble"
        phone.client.publish(topic, json.dumps(body, separators=(",", ":")), qos=1)
        self.published += 1

    def close(self) -> None:
        for phone in self.phones:
            phone.client.disconnect()
            phone.client.loop_stop()
