"""`manage.py bench_recompute` at a toy size: the admin save goes through, the pass revises
every record of the course, and /health's backlog ends at zero."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from attendance.models import Course, RecomputeRequest


@pytest.mark.django_db
def test_bench_recompute_revises_every_record_and_cleans_up() -> None:
    out = StringIO()
    call_command("bench_recompute", sessions=3, students=4, stdout=out)
    lines = out.getvalue().strip().splitlines()
    figures = dict(pair.split("=") for pair in lines[-1].split())
    assert figures["records"] == figures["revised"] == "12"
    assert float(figures["admin_save_ms"]) > 0
    assert any("backlog 0 items left" in line for line in lines)
    assert not Course.objects.filter(code__startswith="BENCHRC").exists()
    assert not RecomputeRequest.objects.filter(subject__startswith="course:BENCHRC").exists()
