"""Real processes for the crash, restart and scale-out tests: a database both the test and
`manage.py ingest` subprocesses can see, and helpers to start them.

The pytest database may be SQLite in memory, which no other process can open, so these tests
get their own database: a SQLite file, or (when DATABASE_URL names MariaDB) a dedicated
MariaDB database next to the test one. The test reads it back over plain DB-API.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]


class ProcDatabase:
    def __init__(self) -> None:
        settings = connection.settings_dict
        self.vendor = connection.vendor
        if self.vendor == "mysql":
            self.name = f"{settings['NAME']}_procs"[:64]
            self.params = {
                "host": settings["HOST"] or "127.0.0.1",
                "port": int(settings["PORT"] or 3306),
                "user": settings["USER"],
                "password": settings["PASSWORD"] or "",
            }
            with self._mysql(None) as db:
                db.cursor().execute(f"DROP DATABASE IF EXISTS `{self.name}`")
                db.cursor().execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
            auth = self.params["user"] + (
                f":{self.params['password']}" if self.params["password"] else ""
            )
            self.url = f"mysql://{auth}@{self.params['host']}:{self.params['port']}/{self.name}"
        else:
            self.dir = tempfile.mkdtemp(prefix="zias-procs-")
            self.path = os.path.join(self.dir, "db.sqlite3")
            self.url = f"sqlite:///{self.path}"
        self.manage("migrate", "-v0")

    def _mysql(self, db: str | None):  # type: ignore[no-untyped-def]
        import MySQLdb

        kwargs = dict(self.params, autocommit=True)
        if db:
            kwargs["database"] = db
        return MySQLdb.connect(**kwargs)

    def query(self, sql: str) -> list[tuple]:
        if self.vendor == "mysql":
            db = self._mysql(self.name)
        else:
            db = sqlite3.connect(self.path, timeout=30)
        try:
            cursor = db.cursor()
            cursor.execute(sql)
            rows = list(cursor.fetchall())
            db.commit()
            return rows
        finally:
            db.close()

    def scalar(self, sql: str) -> int:
        return int(self.query(sql)[0][0])

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "SECRET_KEY": "test-only-secret-key-for-ingest-processes-0123456789",
            "DEBUG": "0",
            "PYTHONPATH": str(BASE_DIR),
        }
        env.update(extra)
        return env

    def manage(self, *args: str, **env: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def python(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def clear_events(self) -> None:
        for table in (
            "devices_rawevent",
            "devices_rejectedmessage",
            "devices_ingestworker",
            "attendance_visit",
        ):
            self.query(f"DELETE FROM {table}")

    def close(self) -> None:
        if self.vendor == "mysql":
            with self._mysql(None) as db:
                db.cursor().execute(f"DROP DATABASE IF EXISTS `{self.name}`")


SEED = """
from tests.factories import make_room, make_reader, make_student, make_card
room = make_room("P-1")
for i in range({readers}):
    make_reader(room, "bench-r-%03d" % i, mode="entry")
for i in range({students}):
    make_card(make_student("P%05d" % i), "0B%06X" % i)
"""


def seed(db: ProcDatabase, readers: int, students: int) -> list[str]:
    db.python(SEED.format(readers=readers, students=students))
    return [f"0B{i:06X}" for i in range(students)]


def start_ingest(
    db: ProcDatabase, broker_url: str, prefix: str, client_id: str, *args: str
) -> subprocess.Popen[str]:
    # A file, not a pipe: a pipe nobody reads could block the process. Closed with it.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "manage.py", "ingest", f"--client-id={client_id}", *args],
        cwd=BASE_DIR,
        env=db.env(
            MQTT_URL=broker_url,
            MQTT_TOPIC_PREFIX=prefix,
            INGEST_TICK_SECONDS="1",
            LOG_LEVEL="WARNING",
        ),
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def ingest_log(process: subprocess.Popen[str]) -> str:
    log = process.log  # type: ignore[attr-defined]
    log.seek(0)
    return log.read()[-4000:]


def start_publisher(
    broker_url: str, prefix: str, run: str, count: int, readers: int, *args: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devices.mqtt.bench_publisher",
            broker_url,
            prefix,
            run,
            str(count),
            str(readers),
            *args,
        ],
        cwd=BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(BASE_DIR)},
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_until(predicate, timeout: float, interval: float = 0.25) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout)


def wait_connected(process: subprocess.Popen[str], db: ProcDatabase, timeout: float = 30) -> None:
    """The ingest records itself on its first tick, right after subscribing."""
    started = wait_until(
        lambda: db.scalar("SELECT COUNT(*) FROM devices_ingestworker") > 0 or process.poll(),
        timeout,
    )
    if not started or process.poll() is not None:
        stop(process, signal.SIGKILL)
        raise RuntimeError(f"ingest did not start (exit {process.returncode})")
    time.sleep(0.5)  # SUBACK: a new session gets only what is published after it
