"""Looking a resource up by a natural key of several parts: `/holidays/<term>/<name>`.

DRF's lookups take one URL segment. A key of n parts is n segments here, matched by one
lookup regex and split again, so the router, the schema and the trailing-slash rule stay
DRF's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.db.models import Model
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

KeyPart = tuple[str, Callable[[str], Any]]  # (queryset lookup, parse the URL segment)


def as_is(segment: str) -> str:
    return segment


class CompositeKeyLookup:
    """For a viewset: `key_parts` name the lookups, in URL order, and how to parse each."""

    key_parts: ClassVar[tuple[KeyPart, ...]]
    lookup_url_kwarg: str | None = "key"
    lookup_value_regex: str = "[^/]+"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "key_parts" in cls.__dict__:
            cls.lookup_value_regex = "/".join(["[^/]+"] * len(cls.key_parts))

    def get_object(self) -> Model:
        segments = self.kwargs["key"].split("/")  # type: ignore[attr-defined]
        if len(segments) != len(self.key_parts):
            raise Http404("No such resource.")
        lookup = {}
        for (name, parse), segment in zip(self.key_parts, segments, strict=True):
            try:
                lookup[name] = parse(segment)
            except (TypeError, ValueError):
                raise Http404("No such resource.") from None
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        found = get_object_or_404(queryset, **lookup)
        self.check_object_permissions(self.request, found)  # type: ignore[attr-defined]
        return found


def key_path_parameter(description: str) -> OpenApiParameter:
    """The `key` path parameter as the schema shows it (its parts joined by '/')."""
    return OpenApiParameter("key", OpenApiTypes.STR, OpenApiParameter.PATH, description=description)
