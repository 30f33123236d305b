"""Event ids compare byte for byte on MySQL and MariaDB.

The contract makes an event id any 1-64 printable characters, unique per sender. The
servers' default collations are case-insensitive and ignore trailing spaces, so `17-a`
and `17-A` (or `x` and `x `) were one key in the unique index: the second event was
answered `duplicate` and lost. SQLite and PostgreSQL compare exactly already.
"""

from django.db import migrations


def _exact_collation(connection) -> str:  # type: ignore[no-untyped-def]
    # Binary and NO PAD: MariaDB and MySQL 8 name it differently.
    return "utf8mb4_nopad_bin" if connection.mysql_is_mariadb else "utf8mb4_0900_bin"


def compare_event_ids_exactly(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    if connection.vendor != "mysql":
        return
    table = schema_editor.quote_name("devices_rawevent")
    schema_editor.execute(
        f"ALTER TABLE {table} MODIFY event_id VARCHAR(64) "
        f"CHARACTER SET utf8mb4 COLLATE {_exact_collation(connection)} NOT NULL"
    )


class Migration(migrations.Migration):
    atomic = False  # DDL: MySQL and MariaDB cannot run it inside a transaction anyway

    dependencies = [
        ("devices", "0002_ingest_worker_and_batch"),
    ]

    operations = [
        migrations.RunPython(compare_event_ids_exactly, migrations.RunPython.noop, elidable=True),
    ]
