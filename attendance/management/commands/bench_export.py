"""Stream every record of bench_api's school as CSV (or XLSX) and print the peak memory.

    python manage.py bench_api --requests 1 --only none   # builds the 1M-record school once
    python manage.py bench_export                          # all records as CSV
    python manage.py bench_export --format xlsx            # the same as XLSX (slower)

The export goes through the whole stack (JWT, the records view, its filters, the keyset
pages) with a staff login, and the body is read chunk by chunk the way a client would,
counting bytes and lines and keeping none of them. Memory is the process's resident set:
its size before the request, and its peak during it (Linux's VmHWM, reset just before the
request when the kernel allows it). The last line is JSON, for scripts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from attendance.management.commands.bench_api import STUDENTS, USER_PREFIX
from attendance.models import AttendanceRecord

STATUS = Path("/proc/self/status")
LIMIT_MB = 250
PROGRESS_EVERY = 100_000


def rss_mb(field: str) -> float:
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise CommandError(f"no {field} in {STATUS} (this benchmark reads Linux's /proc)")


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        return False
    return True


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--query", default="", help="extra filters, e.g. 'course=BENCH-C001'")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.stdout.write(f"Database: {connection.vendor} {connection.settings_dict['NAME']}")
        expected = AttendanceRecord.objects.filter(student__number__startswith=STUDENTS).count()
        if not expected:
            raise CommandError(
                "No bench records: run `manage.py bench_api` first (it builds them)."
            )
        staff = get_user_model().objects.get(username=f"{USER_PREFIX}staff")
        token = RefreshToken.for_user(staff).access_token
        client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
        url = f"/api/v1/attendance/records?format={opts['format']}"
        if opts["query"]:
            url += f"&{opts['query']}"
        self.stdout.write(f"{expected:,} bench records; GET {url}")
        before = rss_mb("VmRSS")
        peak_reset = reset_peak()
        started = time.perf_counter()
        response = client.get(url, secure=True)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        size = lines = 0
        next_report = PROGRESS_EVERY
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            data = chunk if isinstance(chunk, bytes) else chunk.encode()
            size += len(data)
            lines += data.count(b"\n")
            if lines >= next_report:
                self.stdout.write(f"  {lines:,} lines, {rss_mb('VmRSS'):.0f} MB resident")
                next_report += PROGRESS_EVERY
        seconds = time.perf_counter() - started
        peak = rss_mb("VmHWM")
        rows = lines - 1 if opts["format"] == "csv" else None
        self.stdout.write(
            f"{opts['format']}: {size / 2**20:.1f} MiB in {seconds:.1f} s"
            + (f", {rows:,} rows ({rows / seconds:,.0f} rows/s)" if rows is not None else "")
        )
        self.stdout.write(
            f"resident before: {before:.0f} MB; peak during the export: {peak:.0f} MB"
            f" ({'reset before the request' if peak_reset else 'process lifetime peak'});"
            f" limit {LIMIT_MB} MB: {'OK' if peak < LIMIT_MB else 'OVER'}"
        )
        result = {
            "format": opts["format"], "rows": rows, "bytes": size, "seconds": round(seconds, 1),
            "rss_before_mb": round(before), "peak_rss_mb": round(peak), "limit_mb": LIMIT_MB,
            "under_limit": peak < LIMIT_MB,
        }  # fmt: skip
        self.stdout.write(json.dumps(result))
