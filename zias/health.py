"""/health: is each part ZIAS depends on reachable? 200 when all are, 503 naming the failures."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any driver error means "not reachable" here
        return False


def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok()}
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "failing", "checks": checks},
        status=200 if healthy else 503,
    )
