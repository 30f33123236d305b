"""A student's export and erasure: everything held comes out, nothing personal stays behind,
and the school's figures (course rates) do not move."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.utils import timezone

from attendance import live, services
from attendance.api.reports import course_summaries
from attendance.days import day_bounds, local_day
from attendance.erasure import ErasureRefused, erase_student
from attendance.excuse_models import Excuse
from attendance.models import (
    AttendanceRecord,
    AuditEntry,
    Course,
    PrivacyAction,
    ProxyFlag,
    RecomputeRequest,
    Student,
)
from attendance.personal_data import export_zip, related_models
from beacons.models import Phone
from devices.models import CardHistory, QuarantinedMessage, RawEvent, RejectedMessage
from devices.mqtt.pipeline import IncomingMessage, handle_batch
from tests.factories import make_card, make_course, make_reader, make_room, make_session, make_user

pytestmark = pytest.mark.django_db

# Distinctive values, so finding one anywhere can only mean it was left behind.
ZEPHYRINE = {
    "number": "Z7781",
    "first_name": "Zephyrine",
    "last_name": "Quillfeather",
    "email": "zephyrine.q@example.edu",
}
CARD, PHONE, LOGIN = "0A1B2C3D", "zq-phone-1", "zquill"
WORDS = [*ZEPHYRINE.values(), CARD, PHONE, LOGIN]


@pytest.fixture
def school(settings, tmp_path):
    """Zephyrine and Bob in one course, a session yesterday, their taps and
    Zephyrine's BLE reports through the real pipeline, and the session finalised."""
    prefix = settings.MQTT_TOPIC_PREFIX
    settings.MEDIA_ROOT = str(tmp_path / "media")
    now = timezone.now()
    room = make_room("B-204")
    make_reader(room, "door-1")
    login = make_user(LOGIN)
    zephyrine = Student.objects.create(**ZEPHYRINE, user_id=login.pk)
    bob = Student.objects.create(number="B2002", first_name="Bob", last_name="Other")
    make_card(zephyrine, CARD)
    make_card(bob, "0B0B0B0B")
    Phone.objects.create(phone_id=PHONE, student=zephyrine, model_name="Pixel 8")
    course = make_course("PHY1", students=(zephyrine, bob))
    # Yesterday at 10:00 local: the whole session on one local day, whatever the hour now.
    starts = day_bounds(local_day(now) - timedelta(days=1))[0] + timedelta(hours=10)
    session = make_session(course, room, starts, minutes=60)

    def ms(minutes: float) -> int:
        return int((starts + timedelta(minutes=minutes)).timestamp() * 1000)

    def taps(uid: str, event: str, *minutes: float) -> IncomingMessage:
        body = [
            {"id": f"{event}-{i}", "ts": ms(m), "type": "rfid", "uid": uid}
            for i, m in enumerate(minutes)
        ]
        return IncomingMessage(f"{prefix}/devices/door-1/events", json.dumps(body).encode())

    def report(n: int, minutes: float) -> IncomingMessage:
        body = {"id": f"r-{n}", "ts": ms(minutes), "window_s": 10, "beacons": []}
        return IncomingMessage(f"{prefix}/phones/{PHONE}/ble", json.dumps(body).encode())

    bad_report = IncomingMessage(f"{prefix}/phones/{PHONE}/ble", b'{"id": "r-x", "beacons": 7}')
    handle_batch([taps(CARD, "z", 1, 58), taps("0B0B0B0B", "b", 25, 59)])
    handle_batch([report(1, 5), report(2, 6), bad_report])
    services.periodic_tick(now)
    record = AttendanceRecord.objects.get(session=session, student=zephyrine)
    AuditEntry.objects.create(
        record=record, old_status="present", new_status="present", reason="Zephyrine checked"
    )
    ProxyFlag.objects.create(  # Bob's flag, naming Zephyrine's card in its evidence
        kind="multi_card_one_motion",
        student=bob,
        room=room,
        session=session,
        at=starts,
        detail="2 cards on door-1",
        evidence={"cards": [CARD, "0B0B0B0B"], "taps": [{"uid": CARD}]},
    )
    staff = make_user("registrar", staff=True)
    LogEntry.objects.create(
        user_id=staff.pk,
        content_type=ContentType.objects.get_for_model(Student),
        object_id=str(zephyrine.pk),
        object_repr=str(zephyrine),
        action_flag=CHANGE,
        change_message="[]",
    )
    Excuse.objects.create(
        student=zephyrine,
        reason="Zephyrine had a fever",
        document=SimpleUploadedFile("note.pdf", b"%PDF Quillfeather, medical note"),
    )
    QuarantinedMessage.objects.create(
        topic=f"{prefix}/phones/{PHONE}/ble", payload=b'{"id": "r-q"}', received_at=now, error="bug"
    )
    # A staff change's request that would replay her day from the evidence, still pending.
    services.request_recompute(
        f"card:{CARD}",
        f"card {CARD} reassigned by registrar",
        {"student_days": [[zephyrine.pk, local_day(starts).isoformat()]]},
    )
    return {"zephyrine": zephyrine, "bob": bob, "course": course, "staff": staff, "now": now}


def course_figures() -> dict[str, list]:
    """Every course's figures: each enrolled student's counts and rate (names left out)."""
    now = timezone.now()
    figures = {}
    for course in Course.objects.all():
        per_student = [
            tuple(sorted(course_summaries(s, Course.objects.filter(pk=course.pk), now)[0].items()))
            for s in course.students.all()
        ]
        figures[course.code] = sorted(per_student)
    return figures


def text_values(row: models.Model) -> list[str]:
    values = []
    for f in row._meta.concrete_fields:
        value = getattr(row, f.attname)
        if isinstance(value, bytes | memoryview):
            values.append(bytes(value).decode("utf-8", "replace"))
        elif isinstance(value, (str, dict, list)):
            values.append(value if isinstance(value, str) else json.dumps(value))
    return values


def rows_mentioning(words: list[str]) -> list[str]:
    """Every row of every model in the project that contains one of these words."""
    found = []
    lowered = [w.lower() for w in words]
    for model in apps.get_models():
        for row in model._default_manager.all():
            for text in text_values(row):
                hits = [w for w in lowered if w in text.lower()]
                if hits:
                    found.append(f"{model._meta.label} #{row.pk}: {hits}")
    return found


def test_the_relations_are_found_by_introspection():
    labels = {r.label for r in related_models()}
    expected = {
        "attendance.Enrolment",
        "attendance.Visit",
        "attendance.AttendanceRecord",
        "attendance.RecordRevision",
        "attendance.AuditEntry",
        "attendance.ProxyFlag",
        "attendance.PrivacyAction",
        "devices.Card",
        "devices.CardHistory",
        "beacons.Phone",
        "attendance.Excuse",
        "devices.CardOwnership",
    }
    assert expected <= labels
    history = next(r for r in related_models() if r.label == "devices.CardHistory")
    assert set(history.lookups) == {"student", "card__student"}


def test_the_export_holds_every_related_row_and_the_evidence_but_no_secrets(school):
    zephyrine = school["zephyrine"]
    archive, counts = export_zip(zephyrine, school["now"])
    files = zipfile.ZipFile(io.BytesIO(archive))
    content = {name: files.read(name).decode() for name in files.namelist()}
    assert "README.txt" in content
    about = json.loads(content["student.json"])
    assert about["student"]["number"] == "Z7781" and about["login"]["username"] == LOGIN
    assert about["card_uids"] == [CARD] and about["phone_ids"] == [PHONE]
    for related in related_models():
        expected = set(related.rows(zephyrine.pk).values_list("pk", flat=True))
        name = f"related/{related.label}.json"
        held = {row["pk"] for row in json.loads(content.get(name, "[]"))}
        assert held == expected, related.label
    assert counts["related/attendance.Visit.json"] >= 1
    assert counts["related/attendance.AttendanceRecord.json"] == 1
    taps = json.loads(content["evidence/door_taps.json"])
    assert {t["event_id"] for t in taps} == {"z-0", "z-1"}  # not Bob's
    assert len(json.loads(content["evidence/ble_reports.json"])) == 2
    assert len(json.loads(content["evidence/rejected_messages.json"])) == 1
    assert len(json.loads(content["evidence/quarantined_messages.json"])) == 1
    assert not any("mqtt_password_hash" in text for text in content.values())
    documents = [n for n in content if n.startswith("files/attendance.Excuse/")]
    assert len(documents) == 1 and "medical note" in content[documents[0]]


def test_erasure_leaves_no_personal_value_in_any_model_and_keeps_the_course_rates(
    school, django_capture_on_commit_callbacks
):
    zephyrine, bob = school["zephyrine"], school["bob"]
    now = timezone.now()
    live.room_state().clear()
    live.apply_moves([live.LiveMove("Z7781", "B-204", now, now)])
    assert "Z7781" in live.room_state().members("B-204")
    before = course_figures()
    statuses = [dict(figures) for figures in before["PHY1"]]
    assert sorted((f["present"], f["late"]) for f in statuses) == [(0, 1), (1, 0)]
    assert rows_mentioning(WORDS), "the check must see the data before it is erased"
    bob_events = set(RawEvent.objects.filter(uid="0B0B0B0B").values_list("pk", flat=True))
    document = Excuse.objects.get(student=zephyrine).document
    assert document.storage.exists(document.name)
    with django_capture_on_commit_callbacks(execute=True):
        erased = erase_student(zephyrine, by=school["staff"], by_name="registrar", now=now)
    live.broadcaster().flush()
    assert "Z7781" not in live.room_state().members("B-204"), "the live page forgets her"

    assert rows_mentioning(WORDS) == []
    assert not document.storage.exists(document.name), "the uploaded document goes too"
    assert Excuse.objects.get(student=zephyrine).document.name == ""
    zephyrine.refresh_from_db()
    assert zephyrine.number == erased.pseudonym and not zephyrine.active
    assert not RawEvent.objects.filter(sender=PHONE).exists()
    assert set(RawEvent.objects.values_list("pk", flat=True)) == bob_events
    assert not Phone.objects.exists() and not CardHistory.objects.filter(student=zephyrine)
    assert not RejectedMessage.objects.filter(sender=PHONE).exists()
    assert erased.removed["door taps"] == 2 and erased.removed["BLE reports"] == 2
    assert ProxyFlag.objects.get(student=bob).evidence["cards"] == [erased.pseudonym, "0B0B0B0B"]
    login = school["zephyrine"].__class__.objects.get(pk=zephyrine.pk).user
    assert login is None
    assert course_figures() == before
    services.recompute_course(school["course"].id)  # from the visits, which stay
    assert course_figures() == before
    while services.work_recompute_slice():  # the pending replay of her day: no taps now
        pass
    assert not RecomputeRequest.objects.filter(finished_at__isnull=True).exists()
    assert course_figures() == before
    audit = PrivacyAction.objects.get(kind="erase")
    assert audit.student == zephyrine and audit.by == school["staff"] and audit.at
    assert audit.detail["removed"]["door taps"] == 2


def test_the_login_is_disabled_and_a_second_erasure_is_refused(school):
    zephyrine = school["zephyrine"]
    login_id = zephyrine.user_id
    erase_student(zephyrine, by=None, by_name="shell:ops", now=timezone.now())
    login = apps.get_model("auth", "User").objects.get(pk=login_id)
    assert not login.is_active and not login.has_usable_password() and login.email == ""
    with pytest.raises(ErasureRefused):
        erase_student(zephyrine, by=None, by_name="shell:ops", now=timezone.now())


def test_a_student_whose_login_is_staff_is_not_erased(school):
    user = school["zephyrine"].user
    user.is_staff = True
    user.save()
    with pytest.raises(ErasureRefused, match="staff or teacher"):
        erase_student(school["zephyrine"], by=None, by_name="x", now=timezone.now())
    assert Student.objects.filter(number="Z7781").exists()


def test_the_commands_export_then_erase_and_audit_both(school, tmp_path, capsys):
    out = tmp_path / "z.zip"
    call_command("export_student", "Z7781", "--out", str(out), "--by", "registrar")
    assert "student.json" in zipfile.ZipFile(out).namelist()
    call_command("erase_student", "Z7781", "--yes")
    assert "erased; the student is now erased-" in capsys.readouterr().out
    kinds = list(PrivacyAction.objects.order_by("at").values_list("kind", "by_name"))
    assert kinds[0] == ("export", "registrar")
    assert kinds[1][0] == "erase" and kinds[1][1].startswith("shell:")


def test_the_admin_exports_a_zip_and_erases_after_the_number_is_typed(school):
    client = Client()
    client.force_login(school["staff"])
    url = "/admin/attendance/student/"
    pk = str(school["zephyrine"].pk)
    exported = client.post(url, {"action": "export_personal_data", "_selected_action": [pk]})
    assert exported["Content-Type"] == "application/zip"
    assert "student.json" in zipfile.ZipFile(io.BytesIO(exported.content)).namelist()

    asked = client.post(url, {"action": "erase_personal_data", "_selected_action": [pk]})
    assert asked.status_code == 200 and b"cannot be undone" in asked.content
    wrong = {"action": "erase_personal_data", "_selected_action": [pk], "confirmed": "nope"}
    assert b"did not match" in client.post(url, wrong).content
    assert Student.objects.filter(number="Z7781").exists()
    right = {**wrong, "confirmed": "Z7781"}
    assert client.post(url, right, follow=True).status_code == 200
    assert not Student.objects.filter(number="Z7781").exists()
    assert list(PrivacyAction.objects.values_list("kind", flat=True).order_by("at")) == [
        "export",
        "erase",
    ]
