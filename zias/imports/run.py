"""Import one file into one resource: what `import_data` and the benchmark call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from zias.imports.registry import RESOURCES
from zias.imports.resource import SheetResult
from zias.imports.sheets import read_sheet


def import_file(
    resource: str,
    path: Path,
    *,
    dry_run: bool = False,
    atomic: bool = False,
    user: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> SheetResult:
    """Import the rows of `path` (raises UnreadableFile). A dry run, and an atomic import
    with any bad row, roll the whole transaction back: nothing is written."""
    dataset = read_sheet(path)
    result: SheetResult = RESOURCES[resource]().import_data(
        dataset,
        dry_run=dry_run,
        use_transactions=True,
        rollback_on_validation_errors=atomic,
        file_name=path.name,
        user=user,
        progress=progress,
    )
    return result
