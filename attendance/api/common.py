"""Pieces every ZIAS API view shares: pagination, natural-key conflicts, date bounds."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, ClassVar

import django_filters
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.pagination import PageNumberPagination
from rest_framework.serializers import ModelSerializer, ValidationError
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from attendance.days import day_bounds

# Natural keys may contain dots (room "B.204"), which DRF's default lookup regex refuses.
NATURAL_KEY_REGEX = r"[^/]+"


# Counting is the one cost of a list that grows with the table (InnoDB counts row by row:
# about 0.2 s for a million records). A count this large is kept for a short while, so
# paging through a big list counts once; smaller counts are always exact.
COUNT_CACHE_MIN_ROWS = 10_000
COUNT_CACHE_SECONDS = 30


class CountOnceAWhilePaginator(Paginator):
    """Django's paginator, with counts of COUNT_CACHE_MIN_ROWS or more reused for
    COUNT_CACHE_SECONDS: such a list's `count` may lag new rows by that long."""

    @cached_property
    def count(self) -> int:
        key = self._count_key()
        if key is not None:
            held = cache.get(key)
            if held is not None:
                return int(held)
        counted = super().count
        if key is not None and counted >= COUNT_CACHE_MIN_ROWS:
            cache.set(key, counted, COUNT_CACHE_SECONDS)
        return counted

    def page(self, number: Any) -> Any:
        # Django cuts the last page at `count`; a reused count may be a little behind, so
        # cut at the page size only and let the page show the rows that are there now.
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list[bottom : bottom + self.per_page]
        return self._get_page(rows, number, self)  # type: ignore[attr-defined]

    def _count_key(self) -> str | None:
        query = getattr(self.object_list, "query", None)
        if query is None:
            return None
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:
            return None
        digest = hashlib.sha256(repr((sql, params)).encode()).hexdigest()
        return f"api-count:{digest}"


class ApiPagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; clients may ask for up to 500 a page."""

    django_paginator_class = CountOnceAWhilePaginator
    page_size_query_param = "page_size"
    max_page_size = 500


class IdsFirstPagination(ApiPagination):
    """Sort and cut the page on narrow rows (ids only), then load just that page's full rows.

    On a million records the database sorts thousands of small (id, start) pairs, which an
    index covers, instead of thousands of wide joined rows; one extra query, always one.
    """

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        ids = super().paginate_queryset(queryset.values_list("pk", flat=True), request, view)
        if ids is None:
            return None
        rows = queryset.order_by().in_bulk(ids)
        return [rows[pk] for pk in ids]


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This clashes with something that already exists."
    default_code = "conflict"


class _UniqueOr409(UniqueValidator):
    """A natural key already taken is a conflict (409), not a malformed request (400)."""

    def __call__(self, value: Any, serializer_field: Any) -> None:
        try:
            super().__call__(value, serializer_field)
        except ValidationError as exc:
            raise Conflict({serializer_field.field_name: exc.detail}) from None


class _UniqueTogetherOr409(UniqueTogetherValidator):
    def __call__(self, attrs: Any, serializer: Any) -> None:
        try:
            super().__call__(attrs, serializer)
        except ValidationError as exc:
            raise Conflict(exc.detail) from None


class NaturalKeySerializer(ModelSerializer):
    """A model serializer whose uniqueness checks answer 409 Conflict."""

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[Any, dict]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        kwargs["validators"] = [
            _UniqueOr409(queryset=v.queryset, message=v.message, lookup=v.lookup)
            if isinstance(v, UniqueValidator)
            else v
            for v in kwargs.get("validators", [])
        ]
        return field_class, kwargs

    def get_validators(self) -> list[Any]:
        return [
            _UniqueTogetherOr409(
                queryset=v.queryset,
                fields=v.fields,
                message=v.message,
                condition_fields=v.condition_fields,
                condition=v.condition,
            )
            if isinstance(v, UniqueTogetherValidator)
            else v
            for v in super().get_validators()
        ]


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day` in the school's time zone (the engine's day_bounds)."""
    return day_bounds(day)[0]


def start_of_next_day(day: date) -> datetime:
    return day_bounds(day)[1]


class DateRangeFilterSet(django_filters.FilterSet):
    """`from` and `to`: dates, inclusive, in the school's time zone, compared with the
    subclass's `date_field` (an aware datetime column). One place for that rule."""

    date_field: ClassVar[str]

    # `from` is a Python keyword: declared as from_ and renamed below, once for every subclass.
    from_ = django_filters.DateFilter(method="filter_from", label="From (date, inclusive)")
    to = django_filters.DateFilter(method="filter_to", label="To (date, inclusive)")

    def filter_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(**{f"{self.date_field}__gte": start_of_day(value)})

    def filter_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(**{f"{self.date_field}__lt": start_of_next_day(value)})


# Subclasses collect their bases' declared filters, so renaming here renames for all of them.
DateRangeFilterSet.declared_filters["from"] = DateRangeFilterSet.declared_filters.pop("from_")
DateRangeFilterSet.base_filters["from"] = DateRangeFilterSet.base_filters.pop("from_")
