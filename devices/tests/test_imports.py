"""import_data for students with their cards, cards and readers: the card lifecycle and the
reference change log hold on this path too, and a dry run writes nothing at all."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from attendance.models import ReferenceChange, Student
from devices.models import Card, CardAction, CardHistory, Reader
from tests.factories import make_card
from tests.sheets import count_every_table, run_import, write_csv

if TYPE_CHECKING:
    from attendance.api.testing import School

pytest_plugins = ["attendance.api.testing"]

STUDENT_COLUMNS = ["number", "first_name", "last_name", "email", "username", "cards"]


def _history(uid: str) -> list[tuple[str, str, str]]:
    rows = CardHistory.objects.filter(card__uid=uid).order_by("id")
    return [(h.action, h.student.number, h.reason) for h in rows]


def test_students_come_with_their_cards(school: School, tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path, "students.csv", STUDENT_COLUMNS,
        ["S2001", "Chidi", "Eze", "chidi@example.org", "", "04:a1:b2:c3 04A1B2C3D4E5F6"],
        ["S2002", "Dana", "Ilic", "not-an-email", "", ""],
        ["S2003", "Emeka", "Obi", "", "", "04A1B2 zz"],
        ["S2004", "Femi", "Ade", "", "nosuchlogin", ""],
        ["S2005", "Gita", "Rao", "", "ada", ""],
        ["S2006", "Hana", "Sato", "", "", "04a1b2c3"],
        ["S2001", "Chidi", "Again", "", "", ""],
    )  # fmt: skip
    outcome = run_import("students", sheet)
    assert outcome.errors == [
        "row 3: email: Enter a valid email address.",
        "row 4: cards: uid must be 4, 7 or 10 bytes of hex, got '04A1B2'",
        "row 4: cards: uid must be 4, 7 or 10 bytes of hex, got 'zz'",
        "row 5: username: Object with username=nosuchlogin does not exist.",
        "row 6: username: This login is already linked to another student.",
        "row 7: cards: 04A1B2C3 is listed on row 2 too: a card has one owner",
        "row 8: number: the same key as row 2: a key may appear once",
    ]
    assert outcome.last == "created=1 updated=0 unchanged=0 errors=6"  # rows, not messages
    chidi = Student.objects.get(number="S2001")
    assert sorted(chidi.cards.values_list("uid", flat=True)) == ["04A1B2C3", "04A1B2C3D4E5F6"]
    assert _history("04A1B2C3") == [("issued", "S2001", "import of students.csv")]
    assert not Student.objects.filter(number__in=["S2002", "S2003", "S2006"]).exists()


def test_a_student_reimport_changes_nothing_and_logs_nothing(
    school: School, tmp_path: Path
) -> None:
    row = ["S2001", "Chidi", "Eze", "", "", "04A1B2C3"]
    sheet = write_csv(tmp_path, "students.csv", STUDENT_COLUMNS, row)
    assert run_import("students", sheet).last == "created=1 updated=0 unchanged=0 errors=0"
    before = (ReferenceChange.objects.count(), CardHistory.objects.count())
    assert run_import("students", sheet).last == "created=0 updated=0 unchanged=1 errors=0"
    assert (ReferenceChange.objects.count(), CardHistory.objects.count()) == before


def test_imported_changes_reach_the_reference_change_log(school: School, tmp_path: Path) -> None:
    """Each save is an ORM save: the running ingest hears of new students and cards."""
    before = ReferenceChange.objects.count()
    sheet = write_csv(
        tmp_path, "students.csv", STUDENT_COLUMNS, ["S2001", "Chidi", "Eze", "", "", "04A1B2C3"]
    )
    run_import("students", sheet)
    assert ReferenceChange.objects.count() >= before + 2  # the student and the card


def test_a_card_listed_for_another_student_is_reassigned_with_history(
    school: School, tmp_path: Path
) -> None:
    make_card(school.ben, "04A1B2C3")
    revoked = make_card(school.ben, "04A1B2C4", active=False)
    sheet = write_csv(
        tmp_path, "students.csv", ["number", "cards"], ["S1001", "04A1B2C3 04-A1-B2-C4"]
    )
    assert run_import("students", sheet).last == "created=0 updated=1 unchanged=0 errors=0"
    assert _history("04A1B2C3") == [("reassigned", "S1001", "import of students.csv")]
    revoked.refresh_from_db()
    # People's changes win: a sheet that still lists a revoked card does not revive it.
    assert (revoked.student, revoked.active) == (school.ada, False)


def test_cards_import_revokes_reactivates_and_reassigns(school: School, tmp_path: Path) -> None:
    make_card(school.ada, "04A1B2C3")
    make_card(school.ada, "04A1B2C4", active=False)
    header = ["uid", "student", "active", "issued_at", "note"]
    sheet = write_csv(
        tmp_path, "cards.csv", header,
        ["04:A1:B2:C3", "S1001", "false", "2026-01-01T08:00:00Z", "lost"],
        ["04A1B2C4", "S1002", "true", "", ""],
        ["04A1B2C5", "S1002", "", "", ""],
        ["04A1B2", "S1002", "", "", ""],
        ["04A1B2C6", "S9999", "", "", ""],
        ["04-a1-b2-c5", "S1001", "", "", ""],
    )  # fmt: skip
    outcome = run_import("cards", sheet)
    assert outcome.errors == [
        "row 5: uid: uid must be 4, 7 or 10 bytes of hex, got '04A1B2'",
        "row 6: student: Object with number=S9999 does not exist.",
        "row 7: uid: the same key as row 4: a key may appear once",
    ]
    assert outcome.last == "created=1 updated=2 unchanged=0 errors=3"
    lost = Card.objects.get(uid="04A1B2C3")
    assert (lost.active, lost.revoked_at is not None, lost.note) == (False, True, "lost")
    assert [a for a, _, _ in _history("04A1B2C3")] == [CardAction.REVOKED]
    back = Card.objects.get(uid="04A1B2C4")
    assert (back.student, back.active, back.revoked_at) == (school.ben, True, None)
    assert [a for a, _, _ in _history("04A1B2C4")] == ["reassigned", "reactivated"]
    assert _history("04A1B2C5") == [("issued", "S1002", "import of cards.csv")]
    assert run_import("cards", sheet).last == "created=0 updated=0 unchanged=3 errors=3"


def test_readers_import(school: School, tmp_path: Path) -> None:
    header = ["device_id", "room", "mode", "debounce_s", "online", "last_seen"]
    sheet = write_csv(
        tmp_path, "readers.csv", header,
        ["door-b204", "B-204", "pir", "3", "true", "2026-01-01T08:00:00Z"],
        ["door-c101", "C-101", "sideways", "", "", ""],
        ["door-x", "X-999", "toggle", "", "", ""],
        ["Door_Bad", "B-204", "toggle", "", "", ""],
    )  # fmt: skip
    outcome = run_import("readers", sheet)
    assert outcome.errors == [
        'row 3: mode: "sideways" is not a valid choice.',
        "row 4: room: Object with code=X-999 does not exist.",
        "row 5: device_id: Lowercase letters, digits and '-', 2 to 64 characters, not "
        "starting with '-'.",
    ]
    assert outcome.last == "created=1 updated=0 unchanged=0 errors=3"
    reader = Reader.objects.get(device_id="door-b204")
    # online and last_seen are the reader's own reports: an export's values are ignored.
    assert (reader.mode, reader.debounce_s, reader.online) == ("pir", 3, False)
    assert run_import("readers", sheet).last == "created=0 updated=0 unchanged=1 errors=3"


# A transactional test: the import's own transaction is the outermost one, as in production,
# so what its rollback leaves behind is what a real dry run leaves behind.
@pytest.mark.django_db(transaction=True)
def test_a_dry_run_writes_nothing_to_any_table(school: School, tmp_path: Path) -> None:
    make_card(school.ben, "04A1B2C9")
    students = write_csv(
        tmp_path, "students.csv", STUDENT_COLUMNS,
        ["S2001", "Chidi", "Eze", "", "", "04A1B2C3"],  # created, with a card
        ["S1001", "Ada", "Okafor-Eze", "", "", "04A1B2C9"],  # updated, card reassigned
        ["S2002", "", "Bad", "", "", ""],  # bad
    )  # fmt: skip
    before = count_every_table()
    outcome = run_import("students", students, "--dry-run")
    assert outcome.lines[-2] == "dry run: nothing was written; the counts say what would be"
    assert outcome.last == "created=1 updated=1 unchanged=0 errors=1"
    assert count_every_table() == before
    assert Student.objects.get(number="S1001").last_name == "Okafor"
    assert Card.objects.get(uid="04A1B2C9").student == school.ben
    # The same file for real does what the dry run said.
    assert run_import("students", students).last == "created=1 updated=1 unchanged=0 errors=1"
    assert count_every_table() != before
