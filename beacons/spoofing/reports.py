"""Detectors on the reports themselves: replayed EIDs, cloned windows, scripted timing."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from attendance.flag_kinds import CLONED_RSSI, NO_JITTER, STALE_EID
from beacons.eid import EidResolution
from beacons.presence import ScanWindow
from beacons.spoofing.flags import Flag, iso

# -- stale or replayed EIDs ---------------------------------------------------------------


def stale_eid_flags(
    phone: str, at: datetime, resolutions: Iterable[EidResolution], rooms: Mapping[int, str]
) -> list[Flag]:
    """One flag per stale EID in a report; `rooms` maps beacon ids to room codes."""
    flags = []
    for r in resolutions:
        if r.status != "stale" or r.beacon_id is None:
            continue
        room = rooms.get(r.beacon_id)
        flags.append(
            Flag(
                STALE_EID,
                at,
                phone,
                f"EID {r.eid} of beacon #{r.beacon_id} was valid {-(r.periods_off or 0)} "
                "rotation periods ago: recorded and replayed, or the beacon's clock is off",
                {"eid": r.eid, "beacon": r.beacon_id, "periods_off": r.periods_off},
                room,
            )
        )
    return flags


# -- cloned reports -----------------------------------------------------------------------


Signature = tuple[tuple[int, float, int], ...]  # every (beacon, median, count), sorted
Signed = tuple[datetime, Signature]  # a non-empty window's time and signature


def report_signature(window: ScanWindow) -> Signature:
    """What two copies of one report share: every beacon, median and count."""
    return tuple(sorted((s.beacon_id, s.rssi, s.n) for s in window.sightings))


def signed_windows(windows: Iterable[ScanWindow]) -> list[Signed]:
    """The windows that heard something, as (time, signature): an empty window is neither
    a match nor a break in a run."""
    return [(w.at, report_signature(w)) for w in windows if w.sightings]


def cloned_report_flags(
    windows_by_phone: Mapping[str, Sequence[ScanWindow]],
    *,
    min_run: int = 6,
    align: timedelta = timedelta(seconds=6),
) -> list[Flag]:
    """Two phones whose non-empty windows are identical (every beacon, median and count) for
    `min_run` windows in a row. Side by side, two real phones still differ window to window;
    a single chance match of a whole window happens, a run of them does not."""
    return cloned_signature_flags(
        {phone: signed_windows(ws) for phone, ws in windows_by_phone.items()},
        min_run=min_run,
        align=align,
    )


def cloned_signature_flags(
    signed_by_phone: Mapping[str, Sequence[Signed]],
    *,
    min_run: int = 6,
    align: timedelta = timedelta(seconds=6),
) -> list[Flag]:
    """cloned_report_flags over windows already reduced to (time, signature), as a store
    shared by ingest workers keeps them (attendance.engine.ble.clones). The one rule: a
    match is the same signature from the other phone within `align`; a run counts the
    first phone's (by id) consecutive signed windows that all match."""
    index: dict[Signature, list[tuple[str, datetime]]] = defaultdict(list)
    for phone, signed in signed_by_phone.items():
        for at, signature in signed:
            index[signature].append((phone, at))
    matched: dict[tuple[str, str], set[datetime]] = defaultdict(set)
    for seen in index.values():
        for i, (phone_a, at_a) in enumerate(seen):
            for phone_b, at_b in seen[i + 1 :]:
                if phone_a != phone_b and abs(at_a - at_b) <= align:
                    pair = (phone_a, phone_b) if phone_a < phone_b else (phone_b, phone_a)
                    matched[pair].add(at_a if pair[0] == phone_a else at_b)
    flags = []
    for (phone_a, phone_b), times in sorted(matched.items()):
        ordered = sorted(signed_by_phone[phone_a])
        run = _longest_run([at for at, _ in ordered], times)
        if len(run) >= min_run:
            first = next(signature for at, signature in ordered if at == run[0])
            flags.append(
                Flag(
                    CLONED_RSSI,
                    run[0],
                    phone_b,
                    f"{phone_a} and {phone_b} reported {len(run)} identical windows in a row",
                    {
                        "phones": [phone_a, phone_b],
                        "windows": len(run),
                        "from": iso(run[0]),
                        "to": iso(run[-1]),
                        "first_window": [list(s) for s in first],
                    },
                )
            )
    return flags


def _longest_run(times: Sequence[datetime], matched: set[datetime]) -> list[datetime]:
    """The longest stretch of `times` (sorted) that are all matched."""
    best: list[datetime] = []
    current: list[datetime] = []
    for at in times:
        if at in matched:
            current.append(at)
            best = max(best, current, key=len)
        else:
            current = []
    return list(best)


# -- no jitter ----------------------------------------------------------------------------


def no_jitter_flags(
    phone: str,
    report_times: Sequence[datetime],
    *,
    min_intervals: int = 20,
    max_spread: timedelta = timedelta(milliseconds=5),
) -> list[Flag]:
    """A phone's scanner is scheduled by the OS: its report intervals wander by tens of
    milliseconds at least. Intervals that never differ by more than `max_spread` (missed
    windows and gaps left out) come from a script."""
    times = sorted(report_times)
    intervals = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    intervals = [i for i in intervals if i > 0]
    if len(intervals) < min_intervals:
        return []
    typical = statistics.median(intervals)
    regular = [i for i in intervals if 0.5 * typical <= i <= 1.5 * typical]
    if len(regular) < min_intervals:
        return []
    spread = max(regular) - min(regular)
    if spread > max_spread.total_seconds():
        return []
    return [
        Flag(
            NO_JITTER,
            times[-1],
            phone,
            f"{len(regular)} report intervals of {typical:.3f} s, all within "
            f"{spread * 1000:.1f} ms of each other: scripted, not a phone",
            {"intervals": len(regular), "median_s": typical, "spread_ms": spread * 1000},
        )
    ]
