"""Write Mosquitto's password and ACL files from the database, and optionally reload it."""

from __future__ import annotations

import grp
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devices.broker_auth import (
    ACL_FILE,
    PASSWORD_FILE,
    BrokerAuthError,
    SyncResult,
    collect_users,
    ingest_credentials,
    read_password_file,
    signal_reload,
    write_auth_files,
)


class Command(BaseCommand):
    help = (
        "Write Mosquitto's password file and ACL file from the database: every enabled reader "
        "and active phone with a credential, and the ingest user from MQTT_URL. Each sender may "
        "write only under its own id; the ingest reads everything and writes acks and configs. "
        "Disabled readers and revoked phones are left out. Run it after creating, rotating or "
        "revoking a credential, with --reload so the broker picks the change up."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--out",
            required=True,
            type=Path,
            help=f"Directory for the '{PASSWORD_FILE}' and '{ACL_FILE}' files (made if missing).",
        )
        parser.add_argument(
            "--reload",
            metavar="PIDFILE",
            type=Path,
            help="After writing, send SIGHUP to the Mosquitto whose pid is in PIDFILE.",
        )
        parser.add_argument(
            "--group",
            help="Give the files to this group (a name such as mosquitto, or a gid) so the "
            "broker can read them; they are mode 0640 either way.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out_dir: Path = options["out"]
        group = _group_id(options["group"]) if options["group"] else None
        try:
            ingest = ingest_credentials(settings.MQTT_URL)
            previous = read_password_file(out_dir / PASSWORD_FILE)
            result = collect_users(settings.MQTT_TOPIC_PREFIX, ingest, previous)
            changed = write_auth_files(out_dir, result.users, group=group)
        except BrokerAuthError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write the files in {out_dir}: {exc}") from None

        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        self.stdout.write(_summary(out_dir, result, changed, int(options["verbosity"])))

        if options["reload"]:
            try:
                pid = signal_reload(options["reload"])
            except BrokerAuthError as exc:
                raise CommandError(f"files written, but no reload: {exc}") from None
            self.stdout.write(f"Sent SIGHUP to Mosquitto (pid {pid}); it re-reads both files.")


def _group_id(name: str) -> int:
    """A group name, or a numeric gid (e.g. 1883, the broker's group in its container)."""
    if name.isdigit():
        return int(name)
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise CommandError(f"--group: no group named {name!r} on this machine.") from None


def _summary(out_dir: Path, result: SyncResult, changed: dict[str, bool], verbosity: int) -> str:
    state = {True: "written", False: "unchanged"}
    lines = [
        f"{out_dir / PASSWORD_FILE}: {state[changed[PASSWORD_FILE]]}; "
        f"{out_dir / ACL_FILE}: {state[changed[ACL_FILE]]}.",
        f"Broker users: {len(result.users)} (ingest: 1, readers: {result.count('reader')}, "
        f"phones: {result.count('phone')}).",
    ]
    for reason, names in sorted(result.left_out.items()):
        shown = ", ".join(names) if verbosity > 1 or len(names) <= 10 else f"{names[0]}, ..."
        lines.append(f"Left out, {reason}: {len(names)} ({shown}).")
    if verbosity > 1:
        lines += [f"  {user.kind:<6} {user.username}" for user in result.users]
    return "\n".join(lines)
