"""Pieces every ZIAS API view shares: pagination, natural-key conflicts, date bounds."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.pagination import PageNumberPagination
from rest_framework.serializers import ModelSerializer, ValidationError
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

# Natural keys may contain dots (room "B.204"), which DRF's default lookup regex refuses.
NATURAL_KEY_REGEX = r"[^/]+"


class ApiPagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; clients may ask for up to 500 a page."""

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
    """Midnight at the start of `day` in the school's time zone, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def start_of_next_day(day: date) -> datetime:
    return start_of_day(day + timedelta(days=1))


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
