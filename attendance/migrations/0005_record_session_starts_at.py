"""Copy each session's start onto its records, so newest-first lists are read off an index."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_session_starts(apps, schema_editor):  # type: ignore[no-untyped-def]
    AttendanceRecord = apps.get_model("attendance", "AttendanceRecord")
    ClassSession = apps.get_model("attendance", "ClassSession")
    start = ClassSession.objects.filter(pk=OuterRef("session_id")).values("starts_at")[:1]
    AttendanceRecord.objects.update(session_starts_at=Subquery(start))


class Migration(migrations.Migration):
    dependencies = [
        ("attendance", "0004_live_room_index_and_cloned_beacon_flag"),
    ]

    operations = [
        migrations.AddField(
            model_name="attendancerecord",
            name="session_starts_at",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(copy_session_starts, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="attendancerecord",
            name="session_starts_at",
            field=models.DateTimeField(editable=False),
        ),
        migrations.AddIndex(
            model_name="attendancerecord",
            index=models.Index(fields=["-session_starts_at", "id"], name="record_newest_first"),
        ),
    ]
