"""The period a report covers: `from` and `to` dates (inclusive, in the school's time
zone) and optionally a `term` by name, whose dates fill whichever bound is not given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import QuerySet

from attendance.api.common import start_of_day, start_of_next_day
from attendance.models import Term


class ReportParamError(ValueError):
    """A report parameter that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None
    term: str = ""

    @property
    def starts_at(self) -> datetime | None:
        return None if self.start is None else start_of_day(self.start)

    @property
    def ends_before(self) -> datetime | None:
        return None if self.end is None else start_of_next_day(self.end)

    def narrow(self, queryset: QuerySet, field: str) -> QuerySet:
        """Keep the rows whose aware datetime `field` falls in the period."""
        if self.starts_at is not None:
            queryset = queryset.filter(**{f"{field}__gte": self.starts_at})
        if self.ends_before is not None:
            queryset = queryset.filter(**{f"{field}__lt": self.ends_before})
        return queryset

    def describe(self) -> str:
        parts = [f"term {self.term}"] if self.term else []
        parts.append(f"from {self.start or 'the beginning'} to {self.end or 'now'}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {"from": self.start, "to": self.end, "term": self.term or None}


def parse_date(params: Mapping[str, str], name: str) -> date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ReportParamError(f"{name}: expected a date as YYYY-MM-DD, got {raw!r}.") from None


def parse_period(params: Mapping[str, str]) -> Period:
    start, end = parse_date(params, "from"), parse_date(params, "to")
    term_name = (params.get("term") or "").strip()
    if term_name:
        term = Term.objects.filter(name=term_name).first()
        if term is None:
            raise ReportParamError(f"term: there is no term named {term_name!r}.")
        start = start or term.starts_on
        end = end or term.ends_on
    if start and end and start > end:
        raise ReportParamError(f"from ({start}) is after to ({end}).")
    return Period(start, end, term_name)


def parse_int(
    params: Mapping[str, str], name: str, default: int, minimum: int, maximum: int
) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ReportParamError(f"{name}: expected a whole number, got {raw!r}.") from None
    if not minimum <= value <= maximum:
        raise ReportParamError(f"{name}: must be between {minimum} and {maximum}.")
    return value


def parse_pct(params: Mapping[str, str], name: str, default: float) -> float:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ReportParamError(f"{name}: expected a percentage, got {raw!r}.") from None
    if not 0 <= value <= 100:  # also refuses nan
        raise ReportParamError(f"{name}: must be between 0 and 100.")
    return value
