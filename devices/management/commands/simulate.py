from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from attendance.demo import DEMO_DEVICE_PASSWORD, DEMO_PHONE_PASSWORD
from devices.simulator import PhoneSimulation, Simulation


class Command(BaseCommand):
    help = (
        "Simulate door readers publishing CONTRACT messages over MQTT: students walk between "
        "the rooms of their courses, PIR motion in walking order, then the card tap. With "
        "--phones N, N registered phones also walk between the rooms that have iBeacons and "
        "publish a BLE report (`<prefix>/phones/<phone>/ble`) every scan window, from the "
        "path-loss model of beacons/simulation.py. Uses the readers, cards, beacons and phones "
        "in the database (run seed_demo first)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rate", type=float, default=1.0, help="Door passages per second (default 1)."
        )
        parser.add_argument(
            "--duration", type=float, default=0, help="Seconds to run; 0 runs until interrupted."
        )
        parser.add_argument(
            "--broker", default="", help="mqtt://host:port (default MQTT_URL or the local broker)."
        )
        parser.add_argument(
            "--password", default=DEMO_DEVICE_PASSWORD, help="The readers' MQTT password."
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--phones", type=int, default=0, help="Simulated phones reporting BLE (default 0)."
        )
        parser.add_argument(
            "--phone-password", default=DEMO_PHONE_PASSWORD, help="The phones' MQTT password."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        broker = options["broker"] or settings.MQTT_URL or "mqtt://127.0.0.1:1883"
        if options["rate"] <= 0:
            raise CommandError("--rate must be positive.")
        sim = Simulation(
            broker, settings.MQTT_TOPIC_PREFIX, options["password"], seed=options["seed"]
        )
        if not sim.readers or not sim.students:
            raise CommandError(
                "No readers or cards in the database: run `manage.py seed_demo` first."
            )
        if options["phones"] < 0:
            raise CommandError("--phones must be 0 or more.")
        phones = None
        if options["phones"]:
            phones = PhoneSimulation(
                broker,
                settings.MQTT_TOPIC_PREFIX,
                options["phone_password"],
                options["phones"],
                seed=options["seed"],
            )
            if not phones.phones or not phones.identities:
                raise CommandError("No phones or iBeacons in the database: run seed_demo first.")
            self.stdout.write(
                f"Simulating {len(phones.phones)} phones in {len(phones.identities)} beacon rooms."
            )
        sim.announce()
        self.stdout.write(
            f"Simulating {len(sim.readers)} readers and {len(sim.students)} cards "
            f"at {options['rate']}/s on {broker} (Ctrl-C to stop)."
        )
        interval = 1.0 / options["rate"]
        deadline = time.monotonic() + options["duration"] if options["duration"] else None
        try:
            while deadline is None or time.monotonic() < deadline:
                sim.step()
                if phones is not None:
                    phones.tick()
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
        finally:
            sim.close()
            if phones is not None:
                phones.close()
        published = sim.published + (phones.published if phones is not None else 0)
        self.stdout.write(f"Published {published} messages.")
