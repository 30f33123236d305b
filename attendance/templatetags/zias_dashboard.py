"""{% zias_dashboard %}: the staff dashboard the admin index shows above its app list."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from attendance.charts.pages import arrivals_chart
from attendance.dashboard import dashboard
from attendance.models import FlagKind

register = template.Library()

# The reports' pages (built beside this dashboard) live here; until their URL name exists
# the link still points at the right place.
REPORTS_PATH = "/admin/reports/"


def reports_url() -> str:
    try:
        return reverse("report-index")
    except NoReverseMatch:
        return REPORTS_PATH


@register.inclusion_tag("admin/zias_dashboard.html")
def zias_dashboard() -> dict[str, Any]:
    now = timezone.now()
    figures = dashboard(now)
    kinds = dict(FlagKind.choices)
    figures["flags_by_kind"] = [
        {"kind": row["kind"], "label": kinds.get(row["kind"], row["kind"]), "n": row["n"]}
        for row in figures["flags_by_kind"]  # type: ignore[attr-defined]
    ]
    workers = figures["ingest"].get("workers") or []  # type: ignore[attr-defined]
    figures["ingest_lag"] = max((w["lag_s"] for w in workers), default=None)
    figures["ingest_pending"] = sum(w["pending"] for w in workers)
    figures["arrivals_chart"] = arrivals_chart(now)
    figures["reports_url"] = reports_url()
    return figures
