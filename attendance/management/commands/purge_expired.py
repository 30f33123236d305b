"""`manage.py purge_expired`: apply the retention now, instead of waiting for the ingest."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from attendance import retention


class Command(BaseCommand):
    help = (
        "Delete phones' raw BLE reports older than RETENTION_BLE_REPORT_DAYS and rejected "
        "messages older than RETENTION_REJECTED_DAYS, a slice at a time, as the ingest's tick "
        "does. Reports from the day of a session that is not final yet, and messages "
        "quarantined after a server error, are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )

    def handle(self, *args: object, **options: object) -> None:
        now = timezone.now()
        if options["dry_run"]:
            reports = retention.expired_ble_reports(now).count()
            messages = retention.expired_rejected(now).count()
            self.stdout.write(
                f"would delete {reports} BLE reports and {messages} rejected messages"
            )
            return
        reports = messages = 0
        while True:
            purged = retention.purge_expired_slice(now)
            reports += purged.ble_reports
            messages += purged.rejected
            if purged.ble_reports or purged.rejected:
                self.stdout.write(f"deleted {reports} BLE reports, {messages} rejected messages")
            if not purged.full:
                break
        self.stdout.write(
            self.style.SUCCESS(f"done: {reports} BLE reports, {messages} rejected messages")
        )
