"""GET /metrics: the Prometheus text, for a bearer token (METRICS_TOKEN) or a staff login.

What the processes counted comes from prometheus_client (added up over every process's
files when PROMETHEUS_MULTIPROC_DIR is set); what the database knows (readers online, the
ingest's lag, the recompute backlog) is read at the scrape, by a collector of its own.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from zias.metrics import MULTIPROCESS


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    body = generate_latest(_process_registry()) + generate_latest(_database_registry())
    return HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may read the metrics; otherwise the answer that says why not."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        token = settings.METRICS_TOKEN
        if token and hmac.compare_digest(credentials.strip().encode(), token.encode()):
            return None
        return _unauthorised("the bearer token is not this server's METRICS_TOKEN")
    user = request.user
    if user.is_authenticated:
        if user.is_staff and user.is_active:
            return None
        return JsonResponse({"detail": "metrics are for staff"}, status=403)
    return _unauthorised("send Authorization: Bearer <METRICS_TOKEN>, or log in as staff")


def _unauthorised(detail: str) -> HttpResponse:
    response = JsonResponse({"detail": detail}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def _process_registry() -> CollectorRegistry:
    if not MULTIPROCESS:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def _database_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseFigures())
    return registry


class DatabaseFigures(Collector):
    """Gauges read from the database at each scrape; a database outage leaves them out and
    says so in zias_database_up rather than failing the scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("zias_database_up", "1 when the scrape could read the database.")
        try:
            figures = list(_figures(timezone.now()))
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures


def _figures(now: datetime) -> Iterator[Metric]:
    from attendance.models import ClassSession, RejudgeRequest
    from attendance.services import recompute_backlog
    from devices.models import IngestWorker, Reader

    readers = GaugeMetricFamily(
        "zias_readers", "Enabled door readers, by whether they are online.", labels=["online"]
    )
    enabled = Reader.objects.enabled()
    online = enabled.filter(online=True).count()
    readers.add_metric(["true"], online)
    readers.add_metric(["false"], enabled.count() - online)
    yield readers

    lag = GaugeMetricFamily(
        "zias_ingest_lag_seconds",
        "Per running ingest worker: age of its oldest message not yet acknowledged (0 when "
        "none waits), as of its last tick.",
        labels=["worker"],
    )
    tick_age = GaugeMetricFamily(
        "zias_ingest_last_tick_age_seconds",
        "Per running ingest worker: seconds since its last periodic tick.",
        labels=["worker"],
    )
    pending = GaugeMetricFamily(
        "zias_ingest_pending_messages",
        "Per running ingest worker: messages received and not yet acknowledged.",
        labels=["worker"],
    )
    for worker in IngestWorker.objects.filter(stopped=False):
        oldest = worker.oldest_pending_at
        lag.add_metric([worker.name], (now - oldest).total_seconds() if oldest else 0.0)
        tick_age.add_metric([worker.name], (now - worker.last_tick_at).total_seconds())
        pending.add_metric([worker.name], worker.pending)
    yield from (lag, tick_age, pending)

    backlog = GaugeMetricFamily(
        "zias_recompute_backlog",
        "Work waiting for the ingest's passes: door taps to judge again (re-judge requests), "
        "staff changes' recompute requests and the scope items they have left, and ended "
        "sessions not yet finalised.",
        labels=["kind"],
    )
    requests, items_left, oldest = recompute_backlog()
    backlog.add_metric(["rejudge_requests"], RejudgeRequest.objects.count())
    backlog.add_metric(["recompute_requests"], requests)
    backlog.add_metric(["recompute_items"], items_left)
    backlog.add_metric(
        ["sessions_to_finalise"], ClassSession.objects.ended_unfinalised(now).count()
    )
    yield backlog
    oldest_age = GaugeMetricFamily(
        "zias_recompute_oldest_age_seconds",
        "How long the oldest unfinished recompute request has waited (0 when none).",
    )
    oldest_age.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
    yield oldest_age
