"""/health: is each part ZIAS depends on reachable? 200 when all are, 503 naming the failures.

Checks the database, Redis (when REDIS_URL is set), and, from the state each ingest process
records on its periodic tick (devices.IngestWorker), the broker (when MQTT_URL is set: did
an ingest find its connection up lately?) and the ingest loop's lag; how far behind the
judging of settled door taps is (the pass's cursor and its waiting re-judge requests); and
the backlog of recomputes that staff changes asked for.
The probe never opens an MQTT connection: /health is unauthenticated and may be polled every
second, and each connection would be a broker login.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

# The ingest is lagging when its last tick, or its oldest unacknowledged message, is older
# than this many tick intervals; the broker is failing when no ingest has found its
# connection up for as long.
LAG_TICKS = 6
PROBE_TIMEOUT_S = 2.0
# Judging settled door taps may fall behind while a backlog is replayed; this far is a fault.
DOOR_JUDGING_LAG_LIMIT_S = 300.0
# A staff change's recompute waiting longer than this (the ingest is down or swamped) is a fault.
RECOMPUTE_WAIT_LIMIT_S = 900.0


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except DatabaseError as exc:
        return {"ok": False, "error": str(exc)[:200]}


def _redis() -> dict[str, Any] | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=1
        )
        client.ping()
        client.close()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": str(exc)[:200]}


def _broker() -> dict[str, Any] | None:
    if not settings.MQTT_URL:
        return None
    from devices.models import IngestWorker

    now = timezone.now()
    limit = _tick_limit()
    try:
        contact = (
            IngestWorker.objects.filter(stopped=False, broker_contact_at__isnull=False)
            .order_by("-broker_contact_at")
            .values_list("broker_contact_at", flat=True)
            .first()
        )
    except DatabaseError as exc:
        return {"ok": False, "error": str(exc)[:200]}
    if contact is None:
        return {"ok": False, "error": "no running ingest has reached the broker"}
    age = max((now - contact).total_seconds(), 0.0)
    result: dict[str, Any] = {
        "ok": age <= limit.total_seconds(),
        "last_contact_at": contact.isoformat(),
        "age_s": round(age, 3),
    }
    if not result["ok"]:
        result["error"] = f"no ingest has found the broker up for {age:.0f}s"
    return result


def _tick_limit() -> timedelta:
    return timedelta(seconds=settings.INGEST_TICK_SECONDS * LAG_TICKS)


def _ingest() -> dict[str, Any]:
    from devices.models import IngestWorker

    now = timezone.now()
    limit = _tick_limit()
    try:
        workers = list(IngestWorker.objects.filter(stopped=False))
    except DatabaseError as exc:
        return {"ok": False, "error": str(exc)[:200]}
    if not workers:
        return {"ok": False, "error": "no ingest process is running", "workers": []}
    report = []
    for worker in workers:
        lag = (now - worker.oldest_pending_at).total_seconds() if worker.oldest_pending_at else 0
        report.append(
            {
                "name": worker.name,
                "last_tick_at": worker.last_tick_at.isoformat(),
                "pending": worker.pending,
                "lag_s": round(max(lag, 0.0), 3),
                "ok": now - worker.last_tick_at <= limit and lag <= limit.total_seconds(),
            }
        )
    return {"ok": any(w["ok"] for w in report), "workers": report}


def _door_judging() -> dict[str, Any]:
    from attendance.models import EngineCursor, RejudgeRequest
    from attendance.services import CROWD_CURSOR as CURSOR
    from attendance.services import SETTLE_DELAY

    try:
        position = EngineCursor.objects.filter(name=CURSOR).values_list("position", flat=True)
        requests = RejudgeRequest.objects.count()
        cursor = position.first()
    except DatabaseError as exc:
        return {"ok": False, "error": str(exc)[:200]}
    if cursor is None:
        return {"ok": True, "judged_up_to": None, "lag_s": 0.0, "rejudge_requests": requests}
    lag = max((timezone.now() - SETTLE_DELAY - cursor).total_seconds(), 0.0)
    return {
        "ok": lag <= DOOR_JUDGING_LAG_LIMIT_S,
        "judged_up_to": cursor.isoformat(),
        "lag_s": round(lag, 3),
        "rejudge_requests": requests,
    }


def _recompute() -> dict[str, Any]:
    """What staff changes asked to recompute and the pass has not yet done."""
    from attendance.services import recompute_backlog

    try:
        pending, left, oldest = recompute_backlog()
    except DatabaseError as exc:
        return {"ok": False, "error": str(exc)[:200]}
    waited = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {
        "ok": waited <= RECOMPUTE_WAIT_LIMIT_S,
        "requests": pending,
        "items_left": left,
        "oldest_waited_s": round(waited, 3),
    }


def health(request: HttpRequest) -> JsonResponse:
    probes = {
        "database": _database(),
        "redis": _redis(),
        "broker": _broker(),
        "ingest": _ingest(),
        "door_judging": _door_judging(),
        "recompute": _recompute(),
    }
    # A part that is not configured (no REDIS_URL, say) is left out rather than failing.
    checks = {name: result for name, result in probes.items() if result is not None}
    failing = [name for name, result in checks.items() if not result["ok"]]
    return JsonResponse(
        {"status": "failing" if failing else "ok", "failing": failing, "checks": checks},
        status=503 if failing else 200,
    )


def ingest_status() -> dict[str, Any]:
    """The ingest processes' lag as /health reports it (the staff dashboard shows it too)."""
    return _ingest()
