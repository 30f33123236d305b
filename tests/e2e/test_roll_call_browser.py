"""Roll call on the live page, in Chromium against Daphne, the ingest, Redis and MariaDB.

The teacher ticks two students on one page and marks them present (the reader was down); a
second open page of the room shows both without a reload, the audit has both entries, and
"mark everyone not yet arrived absent" marks the third student on both pages too.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_live_page_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    LIVE_WITHIN_MS,
    PROJECTOR,
    TABLET,
    School,
    Stack,
    badge,
    log_in,
    school,
    stack,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Reader down: roll call"


def test_a_roll_call_reaches_the_other_page_and_is_audited(
    browser: Any,
    stack: Stack,  # noqa: F811  (the fixtures imported above)
    school: School,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    teacher = log_in(browser, stack, school, PROJECTOR)
    other = log_in(browser, stack, school, TABLET)
    for page in (teacher, other):
        expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=10_000)
    navigations: list[str] = []
    for page in (teacher, other):
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
    for name in ("Ada", "Ben", "Cy"):
        expect(badge(other, school, name)).to_have_attribute("data-status", "not_arrived")

    teacher.get_by_label("Select Ada Okafor").check()
    teacher.get_by_label("Select Ben Ruiz").check()
    roll_call = teacher.locator("#roll-call")
    roll_call.get_by_label("Mark selected").select_option("present")
    roll_call.get_by_label("Reason").fill(REASON)
    roll_call.get_by_role("button", name="Mark selected").click()

    expect(teacher.locator("#roll-call-result")).to_contain_text("Marked 2 students")
    for name in ("Ada", "Ben"):
        expect(badge(teacher, school, name)).to_have_attribute("data-status", "present")
        expect(badge(other, school, name)).to_have_attribute(
            "data-status", "present", timeout=LIVE_WITHIN_MS
        )
    expect(badge(other, school, "Cy")).to_have_attribute("data-status", "not_arrived")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    teacher.screenshot(path=str(ARTIFACTS / "roll-call-teacher.png"), full_page=True)
    other.screenshot(path=str(ARTIFACTS / "roll-call-other-page.png"), full_page=True)

    audited = {
        number: stack.db.scalar(
            "SELECT COUNT(*) FROM attendance_auditentry a "
            "JOIN attendance_attendancerecord r ON r.id = a.record_id "
            "JOIN attendance_student s ON s.id = r.student_id "
            "WHERE s.number = %s AND a.new_status = 'present' AND a.reason = %s",
            (number, REASON),
        )
        for number in (school.students["Ada"][0], school.students["Ben"][0])
    }
    assert list(audited.values()) == [1, 1], audited

    teacher.get_by_role("button", name="Mark everyone not yet arrived absent").click()
    expect(teacher.locator("#roll-call-result")).to_contain_text("Marked 1 student")
    expect(badge(other, school, "Cy")).to_have_attribute(
        "data-status", "absent", timeout=LIVE_WITHIN_MS
    )
    expect(badge(other, school, "Ada")).to_have_attribute("data-status", "present")
    assert navigations == [], "a page reloaded instead of updating in place"
    other.screenshot(path=str(ARTIFACTS / "roll-call-not-arrived-absent.png"), full_page=True)
    teacher.context.close()
    other.context.close()
