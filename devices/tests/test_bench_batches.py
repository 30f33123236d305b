"""`manage.py bench_batches` at toy sizes: it runs the real pipeline, prints its figures, and
leaves no benchmark events behind. (Speed is what it prints, never asserted.)"""

from io import StringIO

from django.core.management import call_command

from attendance.models import Visit
from devices.models import RawEvent


def figures_of(out: str) -> dict[str, float]:
    return {
        k: float(v) for k, v in (pair.split("=") for pair in out.strip().splitlines()[-1].split())
    }


def test_bench_batches_prints_the_cost_of_a_batch(db):
    out = StringIO()
    call_command(
        "bench_batches", "--events=120", "--readers=6", "--students=10", "--batch=12",
        "--reader-mode=pir", "--profile=5", stdout=out, stderr=StringIO(),
    )  # fmt: skip
    figures = figures_of(out.getvalue())
    assert set(figures) == {"events_per_s", "ms_per_batch", "queries_per_batch", "db_ms_per_batch"}
    assert figures["queries_per_batch"] >= 3  # at least store, read, record
    assert "cumulative" in out.getvalue()  # the profile was printed
    assert Visit.objects.exists()  # the engine ran: taps made visits
    assert not RawEvent.objects.exists()


def test_a_backlog_leaves_requests_for_the_pass(db, monkeypatch):
    from attendance.models import RejudgeRequest
    from devices.mqtt import bench

    monkeypatch.setattr(bench, "clear_bench_events", lambda: None)  # keep what it stored
    out = StringIO()
    call_command(
        "bench_batches", "--events=60", "--readers=3", "--students=5", "--batch=20",
        "--gap-ms=1000", stdout=out, stderr=StringIO(),
    )  # fmt: skip
    assert "a backlog 1000 ms apart" in out.getvalue()
    assert RawEvent.objects.count() == 60
    # Its events were late: each reader's stretch asked the pass to judge it again.
    assert set(RejudgeRequest.objects.values_list("reader", flat=True)) == {
        "bench-r-000", "bench-r-001", "bench-r-002",
    }  # fmt: skip
