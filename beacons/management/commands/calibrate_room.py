"""Suggest a room's beacon thresholds from the BLE reports phones actually sent."""

from __future__ import annotations

import bisect
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from attendance.models import Room, Visit
from beacons.calibration import NotEnoughData, suggest_thresholds
from beacons.models import Beacon, Phone
from beacons.sightings import BeaconDirectory
from devices.models import RawEvent

Samples = dict[int, tuple[list[float], list[float]]]


class Command(BaseCommand):
    help = """Suggest enter/exit RSSI thresholds for each beacon of ROOM, and say why.

Method: take the phones' BLE reports of the last --days days. Door visits say where each
phone's owner really was: a report sent while the owner had a door visit in ROOM is
"in the room"; one sent during a door visit to another room is "elsewhere"; reports from
students with no door visit at the time are left out (nobody knows where they were).
For each of ROOM's beacons, the medians it was heard at (corrected by each phone's
rssi_offset_db) give:
  enter = halfway between the in-room 10th percentile and the elsewhere 95th percentile
  exit  = the in-room 2nd percentile, at least --hysteresis dB below enter
The percentiles are printed, and a warning when in-room and elsewhere overlap (the beacon
cannot tell this room from a neighbour on its own). Nothing is saved without --apply."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("room", help="the room's code, e.g. B-204")
        parser.add_argument("--days", type=int, default=14, help="how far back (default 14)")
        parser.add_argument("--hysteresis", type=float, default=6.0, help="dB (default 6)")
        parser.add_argument(
            "--min-windows", type=int, default=30, help="in-room windows needed (default 30)"
        )
        parser.add_argument("--apply", action="store_true", help="save the suggestions")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            room = Room.objects.get(code=options["room"])
        except Room.DoesNotExist:
            raise CommandError(f"no room {options['room']!r}") from None
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        beacons = list(Beacon.objects.filter(room=room))
        if not beacons:
            raise CommandError(f"room {room.code} has no beacons")
        now = timezone.now()
        samples = collect_samples(room, beacons, now - timedelta(days=options["days"]), now)
        for beacon in beacons:
            self.report(beacon, samples[beacon.pk], options)

    def report(
        self, beacon: Beacon, samples: tuple[list[float], list[float]], options: dict[str, Any]
    ) -> None:
        self.stdout.write(f"{beacon} (now enter {beacon.enter_rssi}, exit {beacon.exit_rssi} dBm):")
        try:
            suggestion = suggest_thresholds(
                *samples,
                hysteresis_db=options["hysteresis"],
                min_in_room=options["min_windows"],
            )
        except NotEnoughData as exc:
            self.stdout.write(f"  no suggestion: {exc}")
            return
        for line in suggestion.explain():
            self.stdout.write(f"  {line}")
        if options["apply"]:
            beacon.enter_rssi, beacon.exit_rssi = suggestion.enter_rssi, suggestion.exit_rssi
            beacon.save(update_fields=["enter_rssi", "exit_rssi"])
            self.stdout.write(self.style.SUCCESS("  saved"))


def collect_samples(room: Room, beacons: list[Beacon], since: datetime, until: datetime) -> Samples:
    """Per beacon of `room`: (in-room medians, elsewhere medians), offset-corrected."""
    directory = BeaconDirectory.from_beacons(beacons)
    phones = {p.phone_id: p for p in Phone.objects.all()}
    visits = _door_visits(since, until)
    samples: Samples = {b.pk: ([], []) for b in beacons}
    events = RawEvent.objects.filter(
        sender_kind="phone", type="ble", ts__gte=since, ts__lt=until
    ).order_by("ts")
    for event in events.iterator():
        phone = phones.get(event.sender)
        if phone is None:
            continue
        where = _room_at(visits.get(phone.student_id, []), event.ts)
        if where is None:
            continue
        read = directory.read(event.payload if isinstance(event.payload, dict) else {}, event.ts)
        for sighting in read.window.sightings:
            in_room, elsewhere = samples[sighting.beacon_id]
            value = sighting.rssi + phone.rssi_offset_db
            (in_room if where == room.pk else elsewhere).append(value)
    return samples


VisitSpan = tuple[datetime, datetime, int]  # entered, left (or until), room id


def _door_visits(since: datetime, until: datetime) -> dict[int, list[VisitSpan]]:
    spans: dict[int, list[VisitSpan]] = defaultdict(list)
    visits = Visit.objects.filter(source="door", entered_at__lt=until).filter(
        Q(left_at__isnull=True) | Q(left_at__gt=since)
    )
    for student_id, room_id, entered, left in visits.values_list(
        "student_id", "room_id", "entered_at", "left_at"
    ).order_by("entered_at"):
        spans[student_id].append((entered, left or until, room_id))
    return spans


def _room_at(spans: list[VisitSpan], at: datetime) -> int | None:
    i = bisect.bisect_right([s[0] for s in spans], at) - 1
    if i >= 0 and spans[i][0] <= at < spans[i][1]:
        return spans[i][2]
    return None
