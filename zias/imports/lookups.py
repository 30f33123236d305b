"""Reading what a sheet refers to in a few queries instead of a few per row.

On a loaded database server each query of an import is a round trip of a millisecond or
more, and a row of enrolments would otherwise ask for its course and its student twice
(the key, then the serializer) and for the enrolment itself. Here the objects that related
columns name are read once for the whole file, and the objects a chunk of rows' keys name
in one query, and the serializers' own lookups answer from those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from django.db import models
from rest_framework.relations import ManyRelatedField, SlugRelatedField

IN_QUERY_SIZE = 1000  # values per `IN (...)`


def slug_relation(field: Any) -> SlugRelatedField | None:
    """The SlugRelatedField a column parses with (a course code, a list of usernames)."""
    if isinstance(field, ManyRelatedField):
        field = field.child_relation
    return field if isinstance(field, SlugRelatedField) else None


def split_list(text: str) -> list[str]:
    """A list cell: values separated by spaces (commas are taken as spaces too)."""
    return text.replace(",", " ").split()


def _chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class RelatedObjects:
    """The objects the file's related columns name, by column and slug value."""

    def __init__(self) -> None:
        self._found: dict[str, dict[str, models.Model]] = {}

    def read(self, fields: Mapping[str, Any], rows: list[dict[str, str]]) -> None:
        for name, field in fields.items():
            relation = slug_relation(field)
            if relation is None or field.read_only:
                continue
            many = isinstance(field, ManyRelatedField)
            wanted = set()
            for row in rows:
                text = row.get(name, "")
                wanted.update(split_list(text) if many else [text] if text else [])
            found = self._found.setdefault(name, {})
            slug = relation.slug_field
            for values in _chunks(sorted(wanted - found.keys()), IN_QUERY_SIZE):
                for obj in relation.get_queryset().filter(**{f"{slug}__in": values}):
                    found[str(getattr(obj, slug))] = obj

    def answer_from_here(self, fields: Mapping[str, Any]) -> None:
        """Make these fields (one row's serializer's) take what was read; a value that was
        not found is looked up as the field always does, so its error is the API's."""
        for name, field in fields.items():
            relation = slug_relation(field)
            read = self._found.get(name)
            if relation is None or read is None:
                continue
            found: dict[str, models.Model] = read
            parse = relation.to_internal_value

            def from_here(
                data: Any, found: dict[str, models.Model] = found, parse: Any = parse
            ) -> Any:
                hit = found.get(data) if isinstance(data, str) else None
                return hit if hit is not None else parse(data)

            relation.to_internal_value = from_here  # type: ignore[method-assign]


def plain(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


class ExistingObjects:
    """The objects a chunk of rows' natural keys name, read in one query."""

    def __init__(self, model: type[models.Model], lookups: Iterable[str]) -> None:
        self.model = model
        self.lookups = list(lookups)
        self.attributes = [
            cast(models.Field, model._meta.get_field(name)).attname for name in self.lookups
        ]
        self._by_key: dict[tuple[Any, ...], models.Model] = {}
        self._by_folded_key: set[tuple[Any, ...]] = set()

    def read(self, keys: list[dict[str, Any]]) -> None:
        self._by_key.clear()
        self._by_folded_key.clear()
        if not keys or not self.lookups:
            return
        filters = {f"{name}__in": {plain(k[name]) for k in keys} for name in self.lookups}
        for obj in self.model._default_manager.filter(**filters):
            key = tuple(getattr(obj, a) for a in self.attributes)
            self._by_key[key] = obj
            self._by_folded_key.add(_folded(key))

    def find(self, lookup: dict[str, Any]) -> models.Model | None:
        key = tuple(plain(lookup[name]) for name in self.lookups)
        if key in self._by_key:
            return self._by_key[key]
        if _folded(key) in self._by_folded_key:
            # Only the case differs: whether that is the same row is the database's
            # collation's call (MySQL's ignores case), so ask it.
            return self.model._default_manager.filter(**lookup).first()
        return None


def _folded(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.casefold() if isinstance(v, str) else v for v in key)
