"""A report as a table: what the CSV and XLSX exports write, whatever the report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """What a column holds, so a spreadsheet gets typed cells (dates as dates...)."""

    TEXT = "text"
    INT = "int"
    PCT = "pct"  # a percentage with one decimal, or empty
    DATE = "date"
    DATETIME = "datetime"
    BOOL = "bool"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT


@dataclass
class Table:
    """`rows` may be a generator: exports stream it once, in constant memory."""

    name: str  # for the file name: letters, digits and dashes
    title: str  # what the XLSX's first row says, with the filter used
    columns: Sequence[Column]
    rows: Iterable[Sequence[object]]


def text(name: str) -> Column:
    return Column(name, Kind.TEXT)


def integer(name: str) -> Column:
    return Column(name, Kind.INT)
