"""Suggest a room's beacon thresholds from the BLE reports phones actually sent."""

from __future__ import annotations

import bisect
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attendance.models import Room, Visit
from beacons.calibration import (
    NotEnoughData,
    RoomSuggestion,
    RoomWindow,
    ThresholdSuggestion,
    suggest_room_thresholds,
    suggest_thresholds,
)
from beacons.models import Beacon, Phone
from beacons.presence import (
    UNSEEN,
    BeaconPlace,
    PresenceConfig,
    lead_over_others,
    room_strengths,
)
from beacons.sightings import BeaconDirectory
from devices.models import RawEvent


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
cannot tell this room from a neighbour on its own).
For the room itself, the same windows as presence sees them (the room's lead over the
next room, with the thresholds just suggested) give its own BLE thresholds:
  margin        = half the smaller of the in-room 10th percentile of that lead and
                  the elsewhere 95th percentile of the trail (2 to 20 dB)
  enter windows = the fewest windows in a row that windows elsewhere pointing into the
                  room repeat by chance under 1% of the time (2 to 6)
  leave windows = the same for windows in the room that fail to hold it (2 to 10)
Nothing is saved without --apply; with it, every change is printed old → new, and
today's BLE presence the room decides is recomputed (a staff change)."""

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
        parser.add_argument(
            "--apply",
            action="store_true",
            help="save the suggestions (the beacons' enter/exit, the room's margin and windows)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            room = Room.objects.get(code=options["room"])
        except Room.DoesNotExist:
            raise CommandError(f"no room {options['room']!r}") from None
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        every_beacon = list(Beacon.objects.select_related("room"))
        beacons = [b for b in every_beacon if b.room_id == room.pk]
        if not beacons:
            raise CommandError(f"room {room.code} has no beacons")
        now = timezone.now()
        since = now - timedelta(days=options["days"])
        windows = collect_windows(room, every_beacon, since, now)
        suggested = {}
        for beacon in beacons:
            suggestion = self.report_beacon(beacon, beacon_samples(windows, beacon.pk), options)
            if suggestion is not None:
                suggested[beacon.pk] = suggestion
        room_suggestion = self.report_room(room, every_beacon, windows, suggested, options)
        if options["apply"]:
            with transaction.atomic():
                for beacon in beacons:
                    if beacon.pk in suggested:
                        self.apply_beacon(beacon, suggested[beacon.pk])
                if room_suggestion is not None:
                    self.apply_room(room, room_suggestion)
        else:
            self.stdout.write("Not applied: run again with --apply to save these.")

    def report_beacon(
        self, beacon: Beacon, samples: tuple[list[float], list[float]], options: dict[str, Any]
    ) -> ThresholdSuggestion | None:
        self.stdout.write(f"{beacon} (now enter {beacon.enter_rssi}, exit {beacon.exit_rssi} dBm):")
        try:
            suggestion = suggest_thresholds(
                *samples,
                hysteresis_db=options["hysteresis"],
                min_in_room=options["min_windows"],
            )
        except NotEnoughData as exc:
            self.stdout.write(f"  no suggestion: {exc}")
            return None
        for line in suggestion.explain():
            self.stdout.write(f"  {line}")
        return suggestion

    def report_room(
        self,
        room: Room,
        every_beacon: list[Beacon],
        windows: list[LabelledWindow],
        suggested: dict[int, ThresholdSuggestion],
        options: dict[str, Any],
    ) -> RoomSuggestion | None:
        self.stdout.write(
            f"room {room.code} (now margin {_shown(room.ble_margin_db)}, enter windows "
            f"{_shown(room.ble_enter_windows)}, leave windows {_shown(room.ble_leave_windows)}):"
        )
        places = _places(every_beacon, suggested)
        in_room = [room_window(w, room.code, places) for w in windows if w.in_room]
        elsewhere = [room_window(w, room.code, places) for w in windows if not w.in_room]
        try:
            suggestion = suggest_room_thresholds(
                in_room,
                elsewhere,
                current_margin_db=PRESENCE_DEFAULTS.margin_db
                if room.ble_margin_db is None
                else float(room.ble_margin_db),
                min_in_room=options["min_windows"],
            )
        except NotEnoughData as exc:
            self.stdout.write(f"  no suggestion: {exc}")
            return None
        for line in suggestion.explain():
            self.stdout.write(f"  {line}")
        return suggestion

    def apply_beacon(self, beacon: Beacon, suggestion: ThresholdSuggestion) -> None:
        new = {"enter_rssi": suggestion.enter_rssi, "exit_rssi": suggestion.exit_rssi}
        self.save_changes(beacon, new, f"{beacon}", " dBm")

    def apply_room(self, room: Room, suggestion: RoomSuggestion) -> None:
        new = {
            "ble_enter_windows": suggestion.enter_windows,
            "ble_leave_windows": suggestion.leave_windows,
        }
        if suggestion.margin_db is not None:
            new = {"ble_margin_db": suggestion.margin_db, **new}
        self.save_changes(room, new, f"room {room.code}", "")

    def save_changes(self, row: Any, new: dict[str, int], label: str, unit: str) -> None:
        """Save what differs (its save signal asks for the recompute) and say old → new."""
        changed = {f: (getattr(row, f), v) for f, v in new.items() if getattr(row, f) != v}
        if not changed:
            self.stdout.write(f"{label}: unchanged")
            return
        for field, (_, value) in changed.items():
            setattr(row, field, value)
        row.full_clean()
        row.save(update_fields=list(changed))
        what = ", ".join(
            f"{FIELD_NAMES[f]} {_shown(old)} → {value}{unit}" for f, (old, value) in changed.items()
        )
        self.stdout.write(self.style.SUCCESS(f"{label}: saved {what}"))


PRESENCE_DEFAULTS = PresenceConfig()  # the margin every room shares, as the engine uses it
FIELD_NAMES = {
    "enter_rssi": "enter",
    "exit_rssi": "exit",
    "ble_margin_db": "margin (dB)",
    "ble_enter_windows": "enter windows",
    "ble_leave_windows": "leave windows",
}


def _shown(value: int | None) -> str:
    return "default" if value is None else str(value)


@dataclass(frozen=True)
class LabelledWindow:
    """A report whose phone's owner a door visit placed: in the room, or elsewhere; what it
    heard, per beacon id, in dBm corrected by the phone's rssi_offset_db."""

    in_room: bool
    heard: dict[int, float]


def collect_windows(
    room: Room, beacons: list[Beacon], since: datetime, until: datetime
) -> list[LabelledWindow]:
    directory = BeaconDirectory.from_beacons(beacons)
    phones = {p.phone_id: p for p in Phone.objects.all()}
    visits = _door_visits(since, until)
    windows = []
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
        heard = {s.beacon_id: s.rssi + phone.rssi_offset_db for s in read.window.sightings}
        windows.append(LabelledWindow(where == room.pk, heard))
    return windows


def beacon_samples(
    windows: list[LabelledWindow], beacon_id: int
) -> tuple[list[float], list[float]]:
    """(in-room medians, elsewhere medians) of one beacon, from the windows that heard it."""
    in_room = [w.heard[beacon_id] for w in windows if w.in_room and beacon_id in w.heard]
    elsewhere = [w.heard[beacon_id] for w in windows if not w.in_room and beacon_id in w.heard]
    return in_room, elsewhere


def _places(
    beacons: list[Beacon], suggested: dict[int, ThresholdSuggestion]
) -> dict[int, BeaconPlace]:
    """Every beacon as presence sees it, with the thresholds just suggested for the room's."""
    places = {}
    for b in beacons:
        s = suggested.get(b.pk)
        enter, exit_ = (s.enter_rssi, s.exit_rssi) if s else (b.enter_rssi, b.exit_rssi)
        places[b.pk] = BeaconPlace(b.pk, b.room.code, float(enter), float(exit_))
    return places


def room_window(window: LabelledWindow, room: str, places: dict[int, BeaconPlace]) -> RoomWindow:
    strengths = room_strengths(window.heard, places)
    over_enter, over_exit = strengths.get(room, (UNSEEN, UNSEEN))
    return RoomWindow(lead_over_others(room, strengths), over_enter, over_exit)


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
