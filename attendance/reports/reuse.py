"""Reuse of a school-wide computation for a short while, as the lists reuse their counts.

Counting every student in every course reads each record of the period once (a term of a
2,000-student school is a million rows, about 0.7 s on MariaDB even from a covering
index). A registrar pages through such a report, changes its threshold, exports it: the
per-student counts behind it are kept for REUSE_SECONDS, so those requests take
milliseconds. Only computations over at least REUSE_MIN_COURSES courses are kept; a
teacher's courses are always counted afresh. A kept result may lag a correction
by up to REUSE_SECONDS. What is kept is plain tuples, quick to unpickle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from attendance.api.common import COUNT_CACHE_SECONDS

REUSE_SECONDS = COUNT_CACHE_SECONDS
REUSE_MIN_COURSES = 20

T = TypeVar("T")


def reused(what: str, key: object, courses: int, compute: Callable[[], T]) -> T:
    """`compute()`, or what it gave for the same `key` less than REUSE_SECONDS ago."""
    if courses < REUSE_MIN_COURSES:
        return compute()
    name = f"report:{what}:" + hashlib.sha256(repr(key).encode()).hexdigest()
    held = cache.get(name)
    if held is not None:
        return held  # type: ignore[no-any-return]
    value = compute()
    cache.set(name, value, REUSE_SECONDS)
    return value
