"""Measure BLE presence on simulated phones: room-level accuracy and flaps."""

from __future__ import annotations

import time
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from dataclasses import replace
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from beacons.calibration import suggest_thresholds
from beacons.presence import BeaconPlace, PresenceConfig, presence_intervals
from beacons.simulation import Score, SimConfig, labelled_medians, score_phone, simulate


class Command(BaseCommand):
    help = (
        "Simulate students' phones in three adjacent rooms (log-distance path loss, noise, "
        "walls, body loss, phone biases, missed windows and background gaps; see "
        "beacons/simulation.py for every parameter), run the BLE presence algorithm on their "
        "reports, and compare with the ground truth.\n\n"
        "accuracy: the share of student-minutes whose predicted state (a room, or away) is "
        "the true one. flaps_per_student_hour: predicted changes of room with no true change "
        "to the same state within 3 minutes, per student-hour. The last line is "
        "machine-readable."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--students", type=int, default=30)
        parser.add_argument("--hours", type=float, default=8.0)
        parser.add_argument("--sigma", type=float, default=4.0, help="dB of noise per reading")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--margin", type=float, default=None, help="override the presence margin (dB)"
        )
        parser.add_argument(
            "--fixed-thresholds",
            action="store_true",
            help="use the simulator's default enter/exit thresholds instead of calibrating "
            "them on a separate simulated day (as calibrate_room does from door visits)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["students"] < 1 or options["hours"] <= 0 or options["sigma"] < 0:
            raise CommandError("--students >= 1, --hours > 0 and --sigma >= 0, please")
        sim_config = SimConfig(sigma_db=options["sigma"])
        presence = PresenceConfig()
        if options["margin"] is not None:
            presence = replace(presence, margin_db=options["margin"])
        score = self.run(options, sim_config, presence)
        self.stdout.write(
            f"accuracy={score.accuracy:.4f} "
            f"flaps_per_student_hour={score.flaps_per_student_hour:.3f}"
        )

    def run(
        self, options: dict[str, Any], sim_config: SimConfig, presence: PresenceConfig
    ) -> Score:
        started = time.monotonic()
        self.stderr.write(
            f"Simulating {options['students']} students for {options['hours']} h "
            f"(sigma {sim_config.sigma_db} dB, seed {options['seed']})..."
        )
        sim = simulate(
            options["students"], options["hours"], seed=options["seed"], config=sim_config
        )
        beacons = sim.beacons
        if not options["fixed_thresholds"]:
            beacons = self.calibrated(options, sim_config)
        total = Score(0, 0, 0, 0.0)
        for phone in sim.phones:
            intervals = presence_intervals(
                phone.windows, beacons, rssi_offset_db=phone.rssi_offset_db, config=presence
            )
            total = total + score_phone(phone, intervals)
        windows = sum(len(p.windows) for p in sim.phones)
        self.stdout.write(
            f"{len(sim.phones)} phones, {windows} scan windows, {total.minutes} student-minutes, "
            f"{total.minutes - total.correct_minutes} wrong, "
            f"{total.spurious_transitions} spurious transitions "
            f"({time.monotonic() - started:.1f} s)"
        )
        return total

    def calibrated(self, options: dict[str, Any], sim_config: SimConfig) -> list[BeaconPlace]:
        """Thresholds from a different simulated day (another seed), labelled by the truth
        the way door visits label real reports."""
        training = simulate(
            options["students"], 2.0, seed=options["seed"] + 10_000, config=sim_config
        )
        samples = labelled_medians(training)
        places = []
        for beacon in training.beacons:
            suggestion = suggest_thresholds(*samples[beacon.beacon_id])
            self.stdout.write(
                f"beacon {beacon.beacon_id} (room {beacon.room}): enter "
                f"{suggestion.enter_rssi}, exit {suggestion.exit_rssi} dBm"
            )
            places.append(
                replace(beacon, enter_rssi=suggestion.enter_rssi, exit_rssi=suggestion.exit_rssi)
            )
        return places
