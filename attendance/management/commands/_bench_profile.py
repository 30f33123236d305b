"""Where a bench_api scenario's time goes (not a command of its own): `--profile N`.

A few requests of the scenario run again with every query timed (by the start of its
statement) and under cProfile, and the command prints the queries per request, the
milliseconds of them spent waiting on the database, the costliest statements and the N
costliest functions. Profiled requests are slower than timed ones (cProfile's own cost),
so read the shares, not the totals.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Callable

from django.db import connection
from django.test import Client

from devices.management.commands.bench_batches import QueryLedger

PROFILED_REQUESTS = 20


def profile_scenario(
    next_request: Callable[[], tuple[Client, str]], top: int, say: Callable[[str], None]
) -> None:
    ledger = QueryLedger()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(ledger):
        for _ in range(PROFILED_REQUESTS):
            client, url = next_request()
            profiler.enable()
            client.get(url, secure=True)
            profiler.disable()
    n = PROFILED_REQUESTS
    elapsed_ms = 1000 * (time.perf_counter() - started) / n
    db_ms = 1000 * sum(ledger.seconds.values()) / n
    say(
        f"  profiled: {elapsed_ms:.1f} ms a request (with cProfile), "
        f"{sum(ledger.count.values()) / n:.1f} queries, {db_ms:.1f} ms waiting on the database"
    )
    for shape, seconds in sorted(ledger.seconds.items(), key=lambda item: -item[1])[:8]:
        say(f"  {ledger.count[shape] / n:5.2f}/req {1000 * seconds / n:6.2f} ms  {shape}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    say(out.getvalue())
