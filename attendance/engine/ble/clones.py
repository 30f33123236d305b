"""Cloned reports compared across batches and ingest workers.

Two phones sending the same window (every beacon, median and count), run after run, is one
report sent twice (beacons.spoofing.reports.cloned_signature_flags is the rule). The copy
rarely lands in the same batch, or even the same worker, as the original: so each batch
puts its fresh windows into a short sliding store shared by every worker, keyed by the
window's signature, with the phones and times that sent it. A phone whose fresh window
matches another phone's is judged over both phones' recent windows from the store.

The store is Redis when REDIS_URL is set (every worker sees every other's windows), else
this process's memory (the zero-setup run has one ingest process), chosen as
attendance.live chooses its room state. Windows are kept for `retention()` of event time:
the phone's offline window plus a margin, so a copy buffered offline still meets its
original.

A run is flagged once per pair of phones and local day, on the later phone's student (the
flag names both). Whoever writes it holds that student's row, and reads under it whether
the flag is already there: two workers that both see the run write one row. Redis is not
part of the transaction: a batch rolled back leaves its windows in the store, which is
harmless (adding the same window again changes nothing, and the retried batch finds the
same run).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from django.conf import settings

from attendance.days import local_day
from attendance.engine.ble.trust import offline_window
from attendance.engine.locks import lock_students
from attendance.models import ProxyFlag
from beacons.models import Phone
from beacons.presence import ScanWindow
from beacons.spoofing import Flag
from beacons.spoofing.reports import Signature, Signed, cloned_signature_flags, signed_windows

ALIGN = timedelta(seconds=6)  # as cloned_report_flags: copies are sent within seconds
KEY_PREFIX = "ble:~clone:"  # `~` is in no phone id: the segment replay never takes these


def retention() -> timedelta:
    return offline_window() + timedelta(minutes=5)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _encode(signature: Signature) -> str:
    return json.dumps([list(s) for s in signature], separators=(",", ":"))


def _decode(raw: str) -> Signature:
    return tuple((int(b), float(rssi), int(n)) for b, rssi, n in json.loads(raw))


class CloneStore(Protocol):
    def add(self, phone: str, signed: Sequence[Signed]) -> set[str]:
        """Keep these windows of `phone`; the other phones that sent any of them within
        ALIGN (this call's windows included, so of two workers the later sees the other)."""
        ...

    def recent(self, phones: Iterable[str], lo: datetime, hi: datetime) -> dict[str, list[Signed]]:
        """Each phone's kept windows between `lo` and `hi`, in time order."""
        ...

    def clear(self) -> None: ...


class MemoryCloneStore:
    """The zero-setup fallback: the same semantics as Redis, in this process."""

    def __init__(self, keep: timedelta) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._phones: dict[str, dict[datetime, Signature]] = defaultdict(dict)
        self._senders: dict[Signature, dict[tuple[str, datetime], None]] = defaultdict(dict)

    def add(self, phone: str, signed: Sequence[Signed]) -> set[str]:
        others: set[str] = set()
        with self._lock:
            for at, signature in signed:
                self._phones[phone][at] = signature
                senders = self._senders[signature]
                senders[(phone, at)] = None
                for key in [k for k in senders if k[1] < at - self._keep]:
                    del senders[key]
                others |= {p for p, t in senders if p != phone and abs(t - at) <= ALIGN}
            if signed:
                newest = max(at for at, _ in signed)
                kept = self._phones[phone]
                for at in [t for t in kept if t < newest - self._keep]:
                    del kept[at]
        return others

    def recent(self, phones: Iterable[str], lo: datetime, hi: datetime) -> dict[str, list[Signed]]:
        with self._lock:
            return {
                p: sorted((at, s) for at, s in self._phones.get(p, {}).items() if lo <= at <= hi)
                for p in phones
            }

    def clear(self) -> None:
        with self._lock:
            self._phones.clear()
            self._senders.clear()


class RedisCloneStore:
    """Sorted sets scored by event time (ms): `<prefix>p:<phone>` holds `<ms>|<signature>`,
    `<prefix>s:<digest of signature>` holds `<phone>|<ms>`. Each add is one MULTI/EXEC, so
    of two workers adding copies at once the later one's reads see the earlier one's
    windows; keys expire after the retention when their phone or signature goes quiet."""

    def __init__(self, url: str, keep: timedelta, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._keep_ms = int(keep.total_seconds() * 1000)
        self._ttl_s = int(keep.total_seconds())
        self._prefix = prefix

    def _signature_key(self, signature: Signature) -> str:
        digest = hashlib.blake2b(_encode(signature).encode(), digest_size=12).hexdigest()
        return f"{self._prefix}s:{digest}"

    def add(self, phone: str, signed: Sequence[Signed]) -> set[str]:
        if not signed:
            return set()
        align = int(ALIGN.total_seconds() * 1000)
        phone_key = f"{self._prefix}p:{phone}"
        pipe = self._redis.pipeline(transaction=True)
        for at, signature in signed:
            ms, key = _ms(at), self._signature_key(signature)
            pipe.zadd(phone_key, {f"{ms}|{_encode(signature)}": ms})
            pipe.zadd(key, {f"{phone}|{ms}": ms})
            pipe.zremrangebyscore(key, "-inf", f"({ms - self._keep_ms}")
            pipe.expire(key, self._ttl_s)
            pipe.zrangebyscore(key, ms - align, ms + align)
        newest = max(_ms(at) for at, _ in signed)
        pipe.zremrangebyscore(phone_key, "-inf", f"({newest - self._keep_ms}")
        pipe.expire(phone_key, self._ttl_s)
        replies = pipe.execute()
        others: set[str] = set()
        for i in range(len(signed)):
            for member in replies[5 * i + 4]:
                sender = member.rsplit("|", 1)[0]
                if sender != phone:
                    others.add(sender)
        return others

    def recent(self, phones: Iterable[str], lo: datetime, hi: datetime) -> dict[str, list[Signed]]:
        phones = list(phones)
        pipe = self._redis.pipeline(transaction=False)
        for p in phones:
            pipe.zrangebyscore(f"{self._prefix}p:{p}", _ms(lo), _ms(hi))
        found: dict[str, list[Signed]] = {}
        for p, members in zip(phones, pipe.execute(), strict=True):
            signed = []
            for member in members:
                ms, raw = member.split("|", 1)
                signed.append((_at(int(ms)), _decode(raw)))
            found[p] = sorted(signed)
        return found

    def clear(self) -> None:
        for key in self._redis.scan_iter(f"{self._prefix}*"):
            self._redis.delete(key)


_store: CloneStore | None = None
_store_lock = threading.Lock()


def clone_store() -> CloneStore:
    global _store
    with _store_lock:
        if _store is None:
            url = settings.REDIS_URL
            prefix = settings.BLE_CLONE_KEY_PREFIX
            _store = RedisCloneStore(url, retention(), prefix) if url else MemoryCloneStore(
                retention()
            )  # fmt: skip
        return _store


def cloned_report_findings(fresh: Mapping[str, Sequence[ScanWindow]]) -> list[Flag]:
    """Keep the batch's fresh windows (per phone) in the shared store; every run of
    identical windows between one of these phones and any other, over the store."""
    store = clone_store()
    flags: list[Flag] = []
    for phone, windows in sorted(fresh.items()):
        signed = signed_windows(windows)
        partners = store.add(phone, signed)
        if not partners:
            continue
        times = [at for at, _ in signed]
        # Back far enough for a run ending at the first fresh window (and its copy's).
        recent = store.recent({phone} | partners, min(times) - retention(), max(times) + ALIGN)
        flags += [f for f in cloned_signature_flags(recent) if phone in _phones_of(f)]
    return flags


def _phones_of(flag: Flag) -> list[str]:
    phones = flag.evidence["phones"]
    assert isinstance(phones, list)
    return [str(p) for p in phones]


def save_cloned_report_flags(flags: Sequence[Flag]) -> None:
    """One row per pair of phones and day, on the later phone's student, written by
    whoever first holds that student (see the module's note)."""
    if not flags:
        return
    students = dict(
        Phone.objects.filter(phone_id__in={f.subject for f in flags}).values_list(
            "phone_id", "student_id"
        )
    )
    rows: dict[str, ProxyFlag] = {}
    for flag in sorted(flags, key=lambda f: f.at):
        student = students.get(flag.subject)
        key = f"{KEY_PREFIX}{'+'.join(_phones_of(flag))}:{local_day(flag.at).isoformat()}"
        if student is None or key in rows:
            continue
        rows[key] = ProxyFlag(
            kind=flag.kind,
            key=key,
            student_id=student,
            at=flag.at,
            detail=flag.detail[:300],
            evidence={**flag.evidence, "phone": flag.subject, "source": "ble"},
        )
    if not rows:
        return
    lock_students({row.student_id for row in rows.values() if row.student_id is not None})
    held = set(ProxyFlag.objects.filter(key__in=list(rows)).values_list("key", flat=True))
    ProxyFlag.objects.bulk_create([row for key, row in sorted(rows.items()) if key not in held])
