"""What the reports' lean paths must keep: the same scope, the same rows, a fixed number of
queries whatever the size of the course (each query a few ms on a busy machine)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attendance.models import Enrolment
from attendance.reports.below_threshold import RatedCounts, counts_in
from attendance.reports.period import Period
from attendance.reports.rates import Counts
from attendance.reports.scope import Scope, scope_for
from attendance.tests.report_school import ReportSchool, build_report_school
from tests.factories import make_course, make_session, make_student, make_user

pytest_plugins = ["attendance.api.testing"]


@pytest.fixture
def rs(db: Any, fast_passwords: None) -> ReportSchool:
    cache.clear()
    return build_report_school()


def counts(present: int, absent: int, excused: int = 0) -> Counts:
    c = Counts(sessions=present + absent + excused)
    c.by_status.update(present=present, absent=absent, excused=excused)
    return c


def test_rated_counts_list_only_rates_under_the_threshold_after_enough_sessions() -> None:
    kept = RatedCounts.of(
        {
            (1, 1): counts(present=3, absent=1),  # 75.0: at the threshold, not under it
            (1, 2): counts(present=2, absent=2),  # 50.0
            (1, 3): counts(present=0, absent=0, excused=4),  # no rate: nothing to count
            (2, 1): counts(present=1, absent=1),  # 50.0 after only 2 sessions
            (2, 2): counts(present=0, absent=5),  # 0.0
        }
    )
    assert kept.below(75, min_sessions=3) == [(2, 2), (1, 2)]  # lowest rate first
    assert kept.below(75, min_sessions=0) == [(2, 2), (1, 2), (2, 1)]  # ties: as counted
    assert kept.below(75.1, min_sessions=4) == [(2, 2), (1, 2), (1, 1)]
    assert kept.below(0, min_sessions=0) == []


def test_the_scope_of_a_teacher_who_is_also_a_student(db: Any) -> None:
    user = make_user("tutor")
    me = make_student("S9001", user=user)
    taught = [make_course("T1", teachers=(user,)), make_course("T2", teachers=(user,))]
    make_course("OTHER", students=(me,))
    assert scope_for(user) == Scope(taught=frozenset(c.pk for c in taught), student_id=me.pk)


def test_the_scope_of_a_student_and_of_a_login_without_a_role(db: Any) -> None:
    pupil, nobody = make_user("pupil"), make_user("nobody")
    me = make_student("S9002", user=pupil)
    make_course("T3", teachers=(make_user("someone"),), students=(me,))
    assert scope_for(pupil) == Scope(student_id=me.pk)
    assert scope_for(nobody) == Scope()
    assert not scope_for(nobody).sees_anything


def test_a_teacher_asking_for_a_course_they_do_not_teach_gets_no_rows(
    rs: ReportSchool, api
) -> None:
    for report in ("below-threshold?pct=100&min_sessions=0", "consecutive-absences?n=1"):
        body = api(rs.omar).get(f"/api/v1/reports/{report}&course=ALGEBRA").json()
        assert body["results"] == [], report
        assert api(rs.tina).get(f"/api/v1/reports/{report}&course=ALGEBRA").json()["results"]


def test_a_student_asking_for_a_course_sees_only_their_own_row_in_it(rs: ReportSchool, api) -> None:
    me, client = rs.students[4], api(rs.student_users[4])  # takes ALGEBRA, not HISTORY
    url = "/api/v1/reports/below-threshold?pct=100&min_sessions=0&course="
    assert {r["student"] for r in client.get(url + "ALGEBRA").json()["results"]} <= {me.number}
    assert client.get(url + "HISTORY").json()["results"] == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/reports/course/ALGEBRA",
        "/api/v1/reports/student/S2000",
        "/api/v1/reports/below-threshold?course=ALGEBRA",
        "/api/v1/reports/consecutive-absences?n=1&course=ALGEBRA",
        "/api/v1/reports/rooms/B-204",
    ],
)
def test_a_report_costs_the_same_queries_for_a_bigger_course(
    rs: ReportSchool, api, url: str, django_assert_num_queries
) -> None:
    client = api(rs.tina)
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    for i in range(5):  # five more students and a session more in ALGEBRA
        Enrolment.objects.create(course=rs.algebra, student=make_student(f"S30{i:02d}"))
    make_session(rs.algebra, rs.room, rs.held["ALGEBRA"][-1].starts_at + timedelta(days=1))
    with django_assert_num_queries(len(before.captured_queries)):
        assert client.get(url).status_code == 200


def test_kept_counts_label_their_rows_once(rs: ReportSchool, django_assert_num_queries) -> None:
    kept = counts_in(Scope(everything=True), Period(), rs.now, [rs.algebra.pk, rs.history.pk])
    pairs = kept.below(100, min_sessions=0)
    with django_assert_num_queries(2):  # the course codes and the students' names
        first = kept.rows(pairs)
    with django_assert_num_queries(0):
        again = kept.rows(pairs)
    assert [(r.course, r.student, r.name) for r in again] == [
        (r.course, r.student, r.name) for r in first
    ]
    assert {r.student for r in first} == {s.number for s in rs.students}
    rates = [r.counts.rate or 0.0 for r in first if r.course == "ALGEBRA"]
    assert rates == sorted(rates)  # lowest rate first within a course
