"""`manage.py bench_ingest` end to end, at toy sizes: it runs, its figures are there, and the
pipeline it measures lost and repeated nothing. (Speed is what it prints, never asserted.)"""

import pytest

from devices.tests.processes import ProcDatabase

pytestmark = pytest.mark.django_db  # only to learn which database engine is configured

FIGURES = {
    "events_per_s",
    "baseline_events_per_s",
    "raw_events_per_s",
    "ack_p99_ms",
    "lost",
    "duplicated",
    "replay_events_per_s",
    "raw_replay_events_per_s",
    "save_only_events_per_s",
    "raw_share",
}


@pytest.fixture
def procdb(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        db = ProcDatabase()
    yield db
    db.close()


def test_bench_ingest_prints_its_figures_and_the_pipeline_loses_nothing(procdb) -> None:
    out = procdb.manage(
        "bench_ingest",
        "--events=600",
        "--readers=4",
        "--students=20",
        "--workers=2",
        "--replay-per-message=20",
        "--rate=100",
        "--latency-seconds=2",
        "--latency-readers=4",
        "--baseline-events=60",
        "--reader-mode=pir",
        MQTT_TOPIC_PREFIX="zt-bench",
        LOG_LEVEL="WARNING",
    )
    lines = out.strip().splitlines()
    figures = dict(pair.split("=", 1) for pair in lines[-1].split())
    assert set(figures) == FIGURES, lines[-1]
    assert (figures["lost"], figures["duplicated"]) == ("0", "0"), out
    assert lines[-1].split()[-1].startswith("raw_share=")  # last, as issue 15 asks
    share = float(figures["events_per_s"]) / float(figures["raw_events_per_s"])
    assert abs(float(figures["raw_share"]) - share) < 0.01
    assert all(float(figures[name]) > 0 for name in FIGURES - {"lost", "duplicated"}), out
    # Every tap of the steady stream was answered, and the answers were verdicts.
    steady = next(line for line in lines if line.startswith("  p50 "))
    answered, taps = steady.split("; ")[1].split(" ")[0].split("/")
    assert answered == taps and int(taps) > 0, steady
    assert "accepted" in steady
    # The backlog's taps were late: their neighbours were re-judged, and it says when.
    rejudged = [line for line in lines if "re-judged for several cards" in line]
    assert len(rejudged) == 2 and all("after the last commit" in line for line in rejudged), out
    assert "pir readers" in out
    # The naive baseline did the pipeline's job: it judged its taps and answered them.
    naive = lines[lines.index(next(line for line in lines if line.startswith("naive ingest"))) + 1]
    assert "events/s; answered" in naive and "accepted" in naive, out
    # The bench cleans up after itself: no benchmark events are left behind.
    assert procdb.scalar("SELECT COUNT(*) FROM devices_rawevent") == 0
