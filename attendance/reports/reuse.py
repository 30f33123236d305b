"""Reuse of a school-wide computation for a short while, as the lists reuse their counts.

Counting every student in every course reads each record of the period once (a term of
a 2,000-student school is a million rows: seconds on MariaDB, even from a covering
index), and finding the sessions nobody was seen in probes every held session.
A registrar pages through such a report, changes its threshold, exports it: the
per-student counts behind it are kept for REUSE_SECONDS, so those requests take
milliseconds. Only computations over at least REUSE_MIN_COURSES courses are kept; a
teacher's courses are always counted afresh. A kept result may lag a correction by up to
REUSE_SECONDS.

They are kept in the process's own memory, not in Django's cache: unpickling ten thousand
counts from a cache costs more than the rest of the request, and each web process
computing its own copy once per REUSE_SECONDS is cheap enough.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from attendance.api.common import COUNT_CACHE_SECONDS

REUSE_SECONDS = COUNT_CACHE_SECONDS
REUSE_MIN_COURSES = 20
KEPT_MAX = 16  # results kept at once; the oldest goes first

T = TypeVar("T")

_kept: dict[tuple[str, Any], tuple[float, Any]] = {}
_lock = threading.Lock()


def reused(what: str, key: object, courses: int, compute: Callable[[], T]) -> T:
    """`compute()`, or what it gave for the same `key` less than REUSE_SECONDS ago."""
    if courses < REUSE_MIN_COURSES:
        return compute()
    name = (what, key)
    now = time.monotonic()
    with _lock:
        held = _kept.get(name)
    if held is not None and now - held[0] < REUSE_SECONDS:
        return held[1]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _kept[name] = (time.monotonic(), value)
        while len(_kept) > KEPT_MAX:
            _kept.pop(min(_kept, key=lambda k: _kept[k][0]))
    return value


def forget() -> None:
    """Drop everything kept (tests, benchmarks timing a first request)."""
    with _lock:
        _kept.clear()
