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
the flag is already there: two workers that both see the run write one row. That student
may be another batch's: it is locked only if free at once (a wait there, after the batch's
own locks, would break the lock order), else left to the batch holding it or to the next
that sees the run go on (a clone sends run after run). Redis is not
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
from attendance.engine.locks import lock_free_students
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
    def add(self, fresh: Mapping[str, Sequence[Signed]]) -> dict[str, set[str]]:
        """Keep these windows of each phone; per phone, the other phones that sent any of
        them within ALIGN (this call's included: of two workers, the later sees the other)."""
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
        self._swept_at = 0  # how many signatures there were after the last sweep

    def add(self, fresh: Mapping[str, Sequence[Signed]]) -> dict[str, set[str]]:
        with self._lock:
            for phone, signed in fresh.items():
                self._add(phone, signed)
            found = {phone: self._senders_near(phone, signed) for phone, signed in fresh.items()}
            times = [at for signed in fresh.values() for at, _ in signed]
            if times and len(self._senders) > 2 * self._swept_at + 1000:
                self._sweep(max(times) - self._keep)
            return found

    def _sweep(self, before: datetime) -> None:
        """Most signatures are sent once, and phones go quiet: forget what is older than
        the retention (Redis expires such keys itself)."""
        for signature in list(self._senders):
            senders = self._senders[signature]
            for key in [k for k in senders if k[1] < before]:
                del senders[key]
            if not senders:
                del self._senders[signature]
        for phone in list(self._phones):
            kept = self._phones[phone]
            for at in [t for t in kept if t < before]:
                del kept[at]
            if not kept:
                del self._phones[phone]
        self._swept_at = len(self._senders)

    def _senders_near(self, phone: str, signed: Sequence[Signed]) -> set[str]:
        return {
            p
            for at, signature in signed
            for p, t in self._senders.get(signature, {})
            if p != phone and abs(t - at) <= ALIGN
        }

    def _add(self, phone: str, signed: Sequence[Signed]) -> None:
        for at, signature in signed:
            self._phones[phone][at] = signature
            senders = self._senders[signature]  # (phone, time) -> None: an ordered set
            senders[(phone, at)] = None
            for key in [k for k in senders if k[1] < at - self._keep]:
                del senders[key]
        if signed:
            newest = max(at for at, _ in signed)
            kept = self._phones[phone]
            for at in [t for t in kept if t < newest - self._keep]:
                del kept[at]

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


def _digest(encoded: str) -> str:
    return hashlib.blake2b(encoded.encode(), digest_size=12).hexdigest()


# ARGV: prefix, keep (ms), ttl (s), align (ms), then per phone: its id, n, and n times
# (ms, signature digest, signature). Returns flat (phone, other sender) pairs.
_ADD_SCRIPT = """
local prefix, keep, ttl, align = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out, i = {}, 5
while i <= #ARGV do
  local phone, n = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local pkey, newest, seen = prefix .. 'p:' .. phone, nil, {}
  for _ = 1, n do
    local ms_text, digest, signature = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local ms = tonumber(ms_text)
    i = i + 3
    local skey = prefix .. 's:' .. digest
    redis.call('ZADD', pkey, ms_text, ms_text .. '|' .. signature)
    redis.call('ZADD', skey, ms_text, phone .. '|' .. ms_text)
    redis.call('ZREMRANGEBYSCORE', skey, '-inf', string.format('(%.0f', ms - keep))
    redis.call('EXPIRE', skey, ttl)
    local near = redis.call('ZRANGEBYSCORE', skey, string.format('%.0f', ms - align),
                            string.format('%.0f', ms + align))
    for _, member in ipairs(near) do
      local sender = string.match(member, '^(.*)|[^|]*$')
      if sender ~= phone and not seen[sender] then
        seen[sender] = true
        out[#out + 1] = phone
        out[#out + 1] = sender
      end
    end
    if newest == nil or ms > newest then newest = ms end
  end
  if newest then
    redis.call('ZREMRANGEBYSCORE', pkey, '-inf', string.format('(%.0f', newest - keep))
    redis.call('EXPIRE', pkey, ttl)
  end
end
return out
"""


class RedisCloneStore:
    """Sorted sets scored by event time (ms): `<prefix>p:<phone>` holds `<ms>|<signature>`,
    `<prefix>s:<digest of signature>` holds `<phone>|<ms>`. Each add is one script call
    (atomic), so of two workers adding copies at once the later one sees the earlier one's
    windows; keys expire after the retention when their phone or signature goes quiet."""

    def __init__(self, url: str, keep: timedelta, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._keep_ms = int(keep.total_seconds() * 1000)
        self._ttl_s = int(keep.total_seconds())
        self._prefix = prefix
        self._add = self._redis.register_script(_ADD_SCRIPT)

    def add(self, fresh: Mapping[str, Sequence[Signed]]) -> dict[str, set[str]]:
        """The whole batch in one script call: one round trip, atomic, and no per-command
        cost in Python (a batch holds hundreds of windows)."""
        args: list[str | int] = [
            self._prefix,
            self._keep_ms,
            self._ttl_s,
            int(ALIGN.total_seconds() * 1000),
        ]
        for phone, signed in fresh.items():
            if signed:
                args += [phone, len(signed)]
                for at, signature in signed:
                    encoded = _encode(signature)
                    args += [_ms(at), _digest(encoded), encoded]
        if len(args) == 4:
            return {}
        pairs = self._add(args=args)
        found: dict[str, set[str]] = {phone: set() for phone in fresh}
        for phone, sender in zip(pairs[::2], pairs[1::2], strict=True):
            found[phone].add(sender)
        return found

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
            url, keep = settings.REDIS_URL, retention()
            if url:
                _store = RedisCloneStore(url, keep, settings.BLE_CLONE_KEY_PREFIX)
            else:
                _store = MemoryCloneStore(keep)
        return _store


def cloned_report_findings(fresh: Mapping[str, Sequence[ScanWindow]]) -> list[Flag]:
    """Keep the batch's fresh windows (per phone) in the shared store; every run of
    identical windows between one of these phones and any other, over the store."""
    store = clone_store()
    signed_by_phone = {phone: signed_windows(windows) for phone, windows in fresh.items()}
    partners_of = store.add(signed_by_phone)
    flags: list[Flag] = []
    for phone, partners in sorted(partners_of.items()):
        if not partners:
            continue
        times = [at for at, _ in signed_by_phone[phone]]
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
    # Found after the batch took its locks, so a student another batch holds is not waited
    # for (out of lock order): that batch, or the next to see the run go on, writes it.
    free = lock_free_students(
        {row.student_id for row in rows.values() if row.student_id is not None}
    )
    rows = {key: row for key, row in rows.items() if row.student_id in free}
    held = set(ProxyFlag.objects.filter(key__in=list(rows)).values_list("key", flat=True))
    ProxyFlag.objects.bulk_create([row for key, row in sorted(rows.items()) if key not in held])
