"""Eddystone-EID computation and resolution.

Expected values are computed here independently, straight from the two AES steps of the
specification (eddystone-eid/eid-computation.md), with the block layouts written out byte by
byte, so the test does not reuse the code it checks.
"""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from beacons.eid import (
    EidBeacon,
    EidResolver,
    InvalidEid,
    compute_eid,
    temporary_key,
)

KEYS = [
    bytes.fromhex("000102030405060708090a0b0c0d0e0f"),
    bytes.fromhex("553c66da1485e9f78849de00f2cb178e"),
    bytes.fromhex("ffffffffffffffffffffffffffffffff"),
]


def aes_ecb(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def spec_eid(identity_key: bytes, k: int, counter: int) -> bytes:
    # Temporary key: bytes 0-10 0x00, byte 11 0xFF, bytes 12-13 0x00, bytes 14-15 the top
    # 16 bits of the counter.
    tk_block = (
        b"\x00" * 11
        + b"\xff"
        + b"\x00\x00"
        + bytes([(counter >> 24) & 0xFF, (counter >> 16) & 0xFF])
    )
    tk = aes_ecb(identity_key, tk_block)
    # EID: bytes 0-10 0x00, byte 11 K, bytes 12-15 the counter with its K low bits cleared.
    cleared = counter - (counter % (2**k))
    eid_block = (
        b"\x00" * 11
        + bytes([k])
        + bytes(
            [(cleared >> 24) & 0xFF, (cleared >> 16) & 0xFF, (cleared >> 8) & 0xFF, cleared & 0xFF]
        )
    )
    return aes_ecb(tk, eid_block)[:8]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("k", [0, 4, 10, 15])
@pytest.mark.parametrize("counter", [0, 1_000, 65_280, 0x12345678, 0xFFFFFFFF])
def test_eid_matches_the_two_spec_steps(key: bytes, k: int, counter: int) -> None:
    assert compute_eid(key, k, counter) == spec_eid(key, k, counter)


def test_published_second_step_vector() -> None:
    # A third-party vector for step 2 (node Eddystone scanner tests): temporary key
    # b7c2d909..., counter 1518080946, K = 12 gives EID 7dd8169dae94258c.
    tk = bytes.fromhex("b7c2d909d27d22df8343271162480210")
    block = b"\x00" * 11 + bytes([12]) + ((1518080946 >> 12) << 12).to_bytes(4, "big")
    assert aes_ecb(tk, block)[:8].hex() == "7dd8169dae94258c"
    # and the same layout is what our code feeds to AES (checked via spec_eid above).


@pytest.mark.parametrize("k", [0, 3, 8])
def test_temporary_key_rolls_over_at_a_multiple_of_2_16(k: int) -> None:
    key = KEYS[1]
    before, after = 3 * 65536 - 1, 3 * 65536
    tk_before = aes_ecb(key, b"\x00" * 11 + b"\xff\x00\x00\x00\x02")
    tk_after = aes_ecb(key, b"\x00" * 11 + b"\xff\x00\x00\x00\x03")
    assert temporary_key(key, before) == tk_before
    assert temporary_key(key, after) == tk_after
    assert tk_before != tk_after
    assert compute_eid(key, k, before) == spec_eid(key, k, before)
    assert compute_eid(key, k, after) == spec_eid(key, k, after)
    assert compute_eid(key, k, before) != compute_eid(key, k, after)


def test_eid_is_constant_within_a_quantum_and_changes_after() -> None:
    key, k = KEYS[0], 10
    start = 7 * 1024
    assert compute_eid(key, k, start) == compute_eid(key, k, start + 1023)
    assert compute_eid(key, k, start) != compute_eid(key, k, start + 1024)


@pytest.mark.parametrize(
    ("key", "k", "counter", "error"),
    [
        (b"short", 10, 0, "16 bytes"),
        (KEYS[0], 16, 0, "exponent"),
        (KEYS[0], 10, -1, "32 bits"),
        (KEYS[0], 10, 1 << 32, "32 bits"),
    ],
)
def test_bad_parameters_are_refused(key: bytes, k: int, counter: int, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        compute_eid(key, k, counter)


# --- resolution -------------------------------------------------------------------------

NOW = 1_795_766_470  # Unix seconds
OFFSET = -1_795_000_000  # beacon counter = NOW + OFFSET = 766_470


def make_resolver(**kwargs: int) -> tuple[EidResolver, list[EidBeacon]]:
    beacons = [
        EidBeacon(1, KEYS[0], 10, OFFSET),
        EidBeacon(2, KEYS[1], 10, OFFSET + 5_000),
        EidBeacon(3, KEYS[2], 12, OFFSET - 77),
    ]
    return EidResolver(beacons, **kwargs), beacons


def eid_hex(beacon: EidBeacon, unix_seconds: int) -> str:
    return spec_eid(
        beacon.identity_key, beacon.exponent, unix_seconds + beacon.counter_offset
    ).hex()


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_current_eid_resolves_to_its_beacon(which: int) -> None:
    resolver, beacons = make_resolver()
    result = resolver.resolve(eid_hex(beacons[which], NOW), NOW)
    assert (result.status, result.beacon_id, result.periods_off) == (
        "current",
        beacons[which].beacon_id,
        0,
    )


@pytest.mark.parametrize(
    ("periods", "status"),
    [(-1, "current"), (1, "current"), (-2, "stale"), (-20, "stale"), (2, "unknown")],
)
def test_window_is_one_period_each_side_and_older_is_stale(periods: int, status: str) -> None:
    resolver, beacons = make_resolver()
    beacon = beacons[0]  # K = 10: a 1024 s period
    # The EID the beacon broadcast `periods` rotation periods away from now.
    heard = eid_hex(beacon, NOW + periods * beacon.period_s)
    result = resolver.resolve(heard, NOW)
    assert result.status == status
    if status != "unknown":
        assert result.beacon_id == beacon.beacon_id
        assert result.periods_off == periods


def test_older_than_the_stale_horizon_is_unknown() -> None:
    resolver, beacons = make_resolver(stale_periods=4)
    beacon = beacons[0]
    assert resolver.resolve(eid_hex(beacon, NOW - 5 * 1024), NOW).status == "stale"
    assert resolver.resolve(eid_hex(beacon, NOW - 6 * 1024), NOW).status == "unknown"


def test_short_periods_get_at_least_the_minimum_window() -> None:
    beacon = EidBeacon(9, KEYS[0], 2, OFFSET)  # a 4 s period
    resolver = EidResolver([beacon], min_window_s=30)
    assert resolver.resolve(eid_hex(beacon, NOW - 28), NOW).status == "current"
    assert resolver.resolve(eid_hex(beacon, NOW - 60), NOW).status == "stale"


@pytest.mark.parametrize(
    ("age_s", "status"), [(0, "current"), (600, "current"), (900, "current"), (1100, "stale")]
)
def test_a_look_back_accepts_what_was_broadcast_within_it_and_no_older(
    age_s: int, status: str
) -> None:
    """Judged at the receipt with the phone's 15-minute offline buffer as look-back: with
    64 s periods, an EID heard 10 minutes ago is current, one heard 18 minutes ago is not
    (without the look-back, anything past a period or so is already stale)."""
    beacon = EidBeacon(9, KEYS[1], 6, OFFSET)  # a 64 s period
    at_receipt = EidResolver([beacon]).with_lookback(900)
    heard = eid_hex(beacon, NOW - age_s)
    assert at_receipt.resolve(heard, NOW).status == status
    plain = EidResolver([beacon]).resolve(heard, NOW).status
    assert plain == ("current" if age_s == 0 else "stale")


def test_a_look_back_index_covers_reports_moving_forward() -> None:
    beacon = EidBeacon(9, KEYS[1], 6, OFFSET)
    at_receipt = EidResolver([beacon], lookback_s=900)
    for step in range(0, 4 * 3600, 37):  # receipts through four hours
        now = NOW + step
        assert at_receipt.resolve(eid_hex(beacon, now - 880), now).status == "current"
        assert at_receipt.resolve(eid_hex(beacon, now - 1200), now).status == "stale"


def test_a_random_eid_is_unknown_and_garbage_is_refused() -> None:
    resolver, _ = make_resolver()
    assert resolver.resolve("0123456789abcdef", NOW).status == "unknown"
    with pytest.raises(InvalidEid):
        resolver.resolve("0123", NOW)
    with pytest.raises(InvalidEid):
        resolver.resolve("zz23456789abcdef", NOW)


def test_a_counter_before_registration_is_no_match_not_a_crash() -> None:
    beacon = EidBeacon(1, KEYS[0], 10, -NOW + 100)  # counter 100 now: earlier quanta negative
    resolver = EidResolver([beacon], stale_periods=5)
    assert resolver.resolve(eid_hex(beacon, NOW), NOW).status == "current"


def test_uppercase_eids_resolve() -> None:
    resolver, beacons = make_resolver()
    assert resolver.resolve(eid_hex(beacons[1], NOW).upper(), NOW).beacon_id == 2


def test_resolution_of_many_reports_is_fast() -> None:
    beacons = [EidBeacon(i, bytes([i % 256]) * 16, 10, OFFSET + i) for i in range(200)]
    resolver = EidResolver(beacons)
    reports = [(NOW + 10 * i, eid_hex(beacons[i % 200], NOW + 10 * i)) for i in range(600)]
    start = time.perf_counter()
    for at, eid in reports:
        assert resolver.resolve(eid, at).status == "current"
    elapsed = time.perf_counter() - start
    # 600 reports over 100 minutes, 200 beacons: table rebuilds only when a quantum turns.
    assert elapsed < 5.0, elapsed


def test_out_of_order_reports_resolve_and_the_index_stays_bounded() -> None:
    resolver, beacons = make_resolver(stale_periods=6)
    beacon = beacons[0]
    for at in [NOW, NOW - 50 * 1024, NOW, NOW + 3 * 1024]:
        assert resolver.resolve(eid_hex(beacon, at), at).status == "current"
    for step in range(200):  # a long-running worker moving forward through the day
        resolver.resolve(eid_hex(beacon, NOW + step * 600), NOW + step * 600)
    per_beacon = 6 + 2 * 1 + 1 + resolver.prefetch_periods + 1
    assert len(resolver._index) <= 3 * per_beacon
