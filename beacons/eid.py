"""Eddystone-EID: compute a beacon's ephemeral ids and resolve reported ones to beacons.

The computation follows the Eddystone specification, "EID Computation"
(github.com/google/eddystone, eddystone-eid/eid-computation.md):

1. Temporary key = AES-128(identity key, block), the block being
   11 bytes 0x00 | 0xFF (salt) | 2 bytes 0x00 | top 16 bits of the 32-bit time counter (BE).
2. EID = the first 8 bytes of AES-128(temporary key, block), the block being
   11 bytes 0x00 | K (rotation exponent) | the 32-bit time counter, BE, low K bits cleared.

The beacon's counter ticks once a second from an arbitrary origin; a registered beacon stores
`eid_counter_offset` = its counter minus Unix seconds, so counter = unix_seconds + offset.
A new EID appears every 2**K seconds (one "quantum"); K is 0..15, so the temporary key (which
changes every 2**16 s) is the same for every second of a quantum.

Resolution: a report at time t names an EID; a beacon matches when the EID is one of its ids
for the quantum the beacon is in at t, give or take one rotation period (clock drift, report
delay). An EID that matches only an older quantum (up to `stale_periods` back) is "stale": it
was recorded and replayed, or the beacon's clock is far behind. Anything else is "unknown".

A resolver built with `lookback_s` accepts, at t, every quantum from the one at t - lookback_s
to the one at t: judged at the server's receipt with the phone's offline window as look-back,
"current" means "broadcast no longer ago than a phone may buffer a scan" whatever the phone
claims its scan's time was (beacons.sightings judges a report both ways).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

COUNTER_LIMIT = 1 << 32  # the beacon's time counter is 32 bits
MAX_EXPONENT = 15
EID_HEX_LENGTH = 16

# "late" is never the resolver's answer: beacons.sightings gives it to an EID that was current
# at the report's own `ts` but is older than the offline window at its receipt.
Status = Literal["current", "late", "stale", "unknown"]


class InvalidEid(ValueError):
    """A reported EID that is not 16 hex characters."""


def _aes128_block(key: bytes, block: bytes) -> bytes:
    """One AES-128 block in ECB mode (a single block: ECB is exactly the raw cipher)."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(block) + encryptor.finalize()


def temporary_key_block(counter: int) -> bytes:
    return bytes(11) + b"\xff" + bytes(2) + (counter >> 16).to_bytes(2, "big")


def eid_block(exponent: int, counter: int) -> bytes:
    quantum_start = (counter >> exponent) << exponent
    return bytes(11) + bytes([exponent]) + quantum_start.to_bytes(4, "big")


def _check(identity_key: bytes, exponent: int, counter: int) -> None:
    if len(identity_key) != 16:
        raise ValueError("the identity key is 16 bytes (AES-128)")
    if not 0 <= exponent <= MAX_EXPONENT:
        raise ValueError(f"the rotation exponent is 0..{MAX_EXPONENT}, got {exponent}")
    if not 0 <= counter < COUNTER_LIMIT:
        raise ValueError(f"the time counter is 32 bits, got {counter}")


@lru_cache(maxsize=4096)
def temporary_key(identity_key: bytes, counter: int) -> bytes:
    """Step 1. Cached: it changes every 65536 s, as the specification recommends."""
    _check(identity_key, 0, counter)
    return _aes128_block(identity_key, temporary_key_block(counter & ~0xFFFF))


def compute_eid(identity_key: bytes, exponent: int, counter: int) -> bytes:
    """The 8-byte EID a beacon with this key and exponent broadcasts at `counter`."""
    _check(identity_key, exponent, counter)
    return _aes128_block(temporary_key(identity_key, counter), eid_block(exponent, counter))[:8]


def parse_eid(value: str) -> bytes:
    if len(value) != EID_HEX_LENGTH:
        raise InvalidEid(f"an EID is {EID_HEX_LENGTH} hex characters, got {len(value)}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise InvalidEid(f"an EID is hex, got {value!r}") from None


@dataclass(frozen=True)
class EidBeacon:
    """What the resolver needs of a registered EID beacon (plain data, no model)."""

    beacon_id: int
    identity_key: bytes
    exponent: int
    counter_offset: int

    @classmethod
    def from_hex(cls, beacon_id: int, key_hex: str, exponent: int, offset: int) -> EidBeacon:
        key = bytes.fromhex(key_hex)
        _check(key, exponent, 0)
        return cls(beacon_id, key, exponent, offset)

    @property
    def period_s(self) -> int:
        return 1 << self.exponent

    def quantum_at(self, unix_seconds: int) -> int:
        return (unix_seconds + self.counter_offset) >> self.exponent

    def eid_for_quantum(self, quantum: int) -> bytes | None:
        """None when that quantum lies outside the 32-bit counter (before registration)."""
        counter = quantum << self.exponent
        if not 0 <= counter < COUNTER_LIMIT:
            return None
        return compute_eid(self.identity_key, self.exponent, counter)


@dataclass(frozen=True)
class EidResolution:
    """`periods_off` is how many rotation periods the EID is away from the beacon's current
    one (negative: older). Both None when unknown."""

    eid: str
    status: Status
    beacon_id: int | None = None
    periods_off: int | None = None


class EidResolver:
    """Resolves reported EIDs against registered beacons, fast.

    Only the quanta around "now" can match, so the resolver keeps one index {eid: (beacon,
    quantum)} holding, for each beacon, the quanta from `stale_periods` back to a few ahead.
    It also knows the span of Unix time that index covers for every beacon at once, so a
    lookup inside that span is one dict probe; past it, only beacons whose quantum turned get
    their new EIDs (computed once per beacon and quantum, `prefetch_periods` ahead at a time).
    """

    def __init__(
        self,
        beacons: Iterable[EidBeacon],
        *,
        stale_periods: int = 24,
        min_window_s: int = 30,
        prefetch_periods: int = 4,
        lookback_s: int = 0,
    ) -> None:
        self.beacons = tuple(beacons)
        self._by_id = {b.beacon_id: b for b in self.beacons}
        if len(self._by_id) != len(self.beacons):
            raise ValueError("beacon ids must be unique")
        self.stale_periods = stale_periods
        # One rotation period each side, but never less than a scan window plus clock error:
        # with K = 0..4 a period is shorter than the phone's own 10 s window.
        self.min_window_s = min_window_s
        self.prefetch_periods = prefetch_periods
        if lookback_s < 0:
            raise ValueError("the look-back is a duration, not negative")
        self.lookback_s = lookback_s
        self._index: dict[bytes, tuple[int, int]] = {}
        self._ranges: dict[int, tuple[int, int]] = {}  # beacon id -> quanta indexed [lo, hi]
        self._eids: dict[tuple[int, int], bytes] = {}  # (beacon id, quantum) -> its EID
        self._valid_from = self._valid_until = 0  # Unix seconds all ranges cover: [from, until)

    def with_lookback(self, lookback_s: int) -> EidResolver:
        """The same beacons and options, current over `lookback_s` before the time asked."""
        return EidResolver(
            self.beacons,
            stale_periods=self.stale_periods,
            min_window_s=self.min_window_s,
            prefetch_periods=self.prefetch_periods,
            lookback_s=lookback_s,
        )

    def accepted_periods(self, beacon: EidBeacon) -> int:
        return max(1, math.ceil(self.min_window_s / beacon.period_s))

    def resolve(self, eid_hex: str, unix_seconds: int) -> EidResolution:
        """Raises InvalidEid for something that is not an EID at all."""
        return self.resolve_many([eid_hex], unix_seconds)[0]

    def resolve_many(self, eids_hex: Iterable[str], unix_seconds: int) -> list[EidResolution]:
        self._cover(unix_seconds)
        return [self._classify(parse_eid(e), e.lower(), unix_seconds) for e in eids_hex]

    def _classify(self, eid: bytes, eid_hex: str, unix_seconds: int) -> EidResolution:
        hit = self._index.get(eid)
        if hit is None:
            return EidResolution(eid_hex, "unknown")
        beacon = self._by_id[hit[0]]
        off = hit[1] - beacon.quantum_at(unix_seconds)
        oldest, newest = self._accepted(beacon, unix_seconds)
        if oldest <= hit[1] <= newest:
            return EidResolution(eid_hex, "current", beacon.beacon_id, off)
        if oldest - self.stale_periods <= hit[1] < oldest:
            return EidResolution(eid_hex, "stale", beacon.beacon_id, off)
        return EidResolution(eid_hex, "unknown")  # indexed ahead of time, not yet valid

    def _accepted(self, beacon: EidBeacon, unix_seconds: int) -> tuple[int, int]:
        """The quanta current at `unix_seconds`: from the look-back's start to now, with the
        tolerance each side."""
        ahead = self.accepted_periods(beacon)
        return (
            beacon.quantum_at(unix_seconds - self.lookback_s) - ahead,
            beacon.quantum_at(unix_seconds) + ahead,
        )

    def _cover(self, unix_seconds: int) -> None:
        if self._valid_from <= unix_seconds < self._valid_until:
            return
        valid_from, valid_until = -math.inf, math.inf
        for beacon in self.beacons:
            lo, hi = self._ensure_range(beacon, unix_seconds)
            back, ahead = (
                self.stale_periods + self.accepted_periods(beacon),
                self.accepted_periods(beacon),
            )
            # t is covered while lo + back <= quantum(t - lookback) and quantum(t) <= hi - ahead.
            valid_from = max(
                valid_from,
                ((lo + back) << beacon.exponent) - beacon.counter_offset + self.lookback_s,
            )
            valid_until = min(
                valid_until, ((hi - ahead + 1) << beacon.exponent) - beacon.counter_offset
            )
        # No beacons at all: every time is covered (and every EID unknown).
        self._valid_from = int(max(valid_from, -(2**62)))
        self._valid_until = int(min(valid_until, 2**62))

    def _ensure_range(self, beacon: EidBeacon, unix_seconds: int) -> tuple[int, int]:
        oldest, need_hi = self._accepted(beacon, unix_seconds)
        need_lo = oldest - self.stale_periods
        old = self._ranges.get(beacon.beacon_id)
        if old is not None and old[0] <= need_lo and need_hi <= old[1]:
            return old
        new = (need_lo, need_hi + self.prefetch_periods)
        old_quanta = set(range(old[0], old[1] + 1)) if old else set()
        new_quanta = set(range(new[0], new[1] + 1))
        for quantum in old_quanta - new_quanta:
            self._forget(beacon, quantum)
        for quantum in new_quanta - old_quanta:
            eid = beacon.eid_for_quantum(quantum)
            # A 64-bit collision between two beacons is astronomically unlikely; keep the first.
            if eid is not None:
                self._eids[beacon.beacon_id, quantum] = eid
                self._index.setdefault(eid, (beacon.beacon_id, quantum))
        self._ranges[beacon.beacon_id] = new
        return new

    def _forget(self, beacon: EidBeacon, quantum: int) -> None:
        eid = self._eids.pop((beacon.beacon_id, quantum), None)
        if eid is not None and self._index.get(eid) == (beacon.beacon_id, quantum):
            del self._index[eid]
