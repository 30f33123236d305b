"""Real processes for the browser tests: `manage.py ingest` and Daphne, against the database
the test itself writes to, the machine's Mosquitto and Redis.

With MariaDB the subprocesses open the very test database pytest-django created (the test runs
with `transaction=True`, so what it writes is committed and visible to them). With SQLite the
test database lives in memory, which no other process can open, so it is copied to a file once
the test has seeded it, and the test reads the file back over plain DB-API.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class SharedDatabase:
    """The test database as the subprocesses see it: a URL for them, raw SQL for the test."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        settings = connection.settings_dict
        if self.vendor == "mysql":
            auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
            host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 3306
            self.url = f"mysql://{auth}@{host}:{port}/{settings['NAME']}"
        elif self.vendor == "sqlite":
            self.path = os.path.join(tempfile.mkdtemp(prefix="zias-e2e-"), "db.sqlite3")
            self.url = f"sqlite:///{self.path}"
        else:
            raise RuntimeError(f"no browser tests for the {self.vendor} backend")

    def publish_seed(self) -> None:
        """Make what the test wrote visible to other processes (SQLite: copy memory to file)."""
        if self.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(self.path)
            connection.connection.backup(target)
            target.close()

    def scalar(self, sql: str, params: tuple[str, ...] = ()) -> int:
        if self.vendor == "mysql":
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return int(cursor.fetchone()[0])
        db = sqlite3.connect(self.path, timeout=30)
        try:
            return int(db.execute(sql.replace("%s", "?"), params).fetchone()[0])
        finally:
            db.close()


class Service:
    """A manage.py-style subprocess with its output in a file (a pipe nobody reads can block)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log: IO[str] = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Service:
        self.process = subprocess.Popen(
            self.argv,
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def output(self) -> str:
        self.log.seek(0)
        return f"--- {self.name} ---\n{self.log.read()[-4000:]}"


def service_env(db: SharedDatabase, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        # DEBUG on: WhiteNoise serves static files from the finders, cookies work over http.
        "DEBUG": "1",
        "SECURE_SSL_REDIRECT": "0",
        "PYTHONPATH": str(BASE_DIR),
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def daphne(env: dict[str, str], port: int) -> Service:
    argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    return Service("daphne", [*argv, "zias.asgi:application"], env)


def ingest(env: dict[str, str], client_id: str) -> Service:
    argv = [sys.executable, "manage.py", "ingest", f"--client-id={client_id}", "--tick-seconds=5"]
    return Service("ingest", argv, env)
