"""Writing many changed rows at once.

Django's bulk_update builds one CASE expression per field and row, which costs more Python
time than the database work; an upsert (INSERT ... ON DUPLICATE KEY / ON CONFLICT UPDATE)
keyed by the primary key is one plain statement per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def save_changed(
    model: type[models.Model], rows: Sequence[models.Model], fields: list[str]
) -> None:
    """Update existing rows (primary key set) with the values of `fields`."""
    if not rows:
        return
    # MySQL/MariaDB upsert on any unique key (here the primary key) and refuse a target.
    target = ["id"] if connection.features.supports_update_conflicts_with_target else None
    model._default_manager.bulk_create(
        rows, update_conflicts=True, unique_fields=target, update_fields=fields
    )
