"""Bring Mosquitto's users in line with the database: the dynamic security plugin (live, or
its file while the broker is stopped), or the password and ACL files for a broker without it."""

from __future__ import annotations

import grp
from argparse import ArgumentParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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
from devices.dynsec_file import write_dynsec_file
from devices.dynsec_sync import SyncReport, admin_username, reconcile, wanted_users
from devices.mqtt.dynsec import DynsecError


class Command(BaseCommand):
    help = (
        "Bring Mosquitto's users in line with the database: every reader and phone with a "
        "credential, and the ingest user from MQTT_URL. Each sender may write only under its "
        "own id; the ingest reads everything and writes acks and configs. With --dynsec, over "
        "the dynamic security plugin's control API (MQTT_ADMIN_URL), printing each change; "
        "a second run changes nothing. With --dynsec-file, into the plugin's file while the "
        "broker is stopped (Django's password hashes included). With --out, as the password "
        "and ACL files of a broker without the plugin (disabled readers and revoked phones "
        "left out); run it after every credential change, with --reload."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument(
            "--dynsec",
            action="store_true",
            help="Reconcile the running broker's dynamic security plugin (MQTT_ADMIN_URL).",
        )
        where.add_argument(
            "--dynsec-file",
            type=Path,
            metavar="FILE",
            help="Write the plugin's JSON config file (plugin_opt_config_file) with the broker "
            "stopped; clients and roles ZIAS does not manage are kept.",
        )
        where.add_argument(
            "--out",
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
        group = _group_id(options["group"]) if options["group"] else None
        if options["dynsec"]:
            self._reconcile_live()
        elif options["dynsec_file"]:
            self._write_plugin_file(options["dynsec_file"], group)
        else:
            self._write_files(options, group)

    def _reconcile_live(self) -> None:
        try:
            report = reconcile()
        except (BrokerAuthError, DynsecError) as exc:
            raise CommandError(str(exc)) from None
        _print_dynsec(self, report)

    def _write_plugin_file(self, path: Path, group: int | None) -> None:
        try:
            wanted, collected = wanted_users()
            admin = _admin_login()
            report = write_dynsec_file(path, wanted, admin, group=group)
        except BrokerAuthError as exc:
            raise CommandError(str(exc)) from None
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot write {path}: {exc}") from None
        for warning in collected.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        state = "written" if report.written else "unchanged"
        self.stdout.write(f"{path}: {state}; {report.clients} ZIAS users.")
        if admin is None:
            self.stdout.write("MQTT_ADMIN_URL is not set: no admin login added.")
        if report.needs_password:
            self.stdout.write(
                f"Without a usable hash (rotate them): {', '.join(report.needs_password)}."
            )

    def _write_files(self, options: dict[str, Any], group: int | None) -> None:
        out_dir: Path = options["out"]
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


def _admin_login() -> tuple[str, str] | None:
    if not settings.MQTT_ADMIN_URL:
        return None
    password = urlsplit(settings.MQTT_ADMIN_URL).password or ""
    return admin_username(), unquote(password)


def _print_dynsec(command: BaseCommand, report: SyncReport) -> None:
    for warning in report.warnings:
        command.stderr.write(command.style.WARNING(f"warning: {warning}"))
    for line in report.changes:
        command.stdout.write(f"  {line}")
    if report.needs_password:
        command.stdout.write(
            f"No working password at the broker ({len(report.needs_password)}; rotate them, or "
            f"write the plugin's file with --dynsec-file while it is stopped): "
            f"{', '.join(report.needs_password)}."
        )
    changed = f"{len(report.changes)} change(s)" if report.changes else "nothing changed"
    command.stdout.write(f"Dynamic security: {report.users} ZIAS users; {changed}.")


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
