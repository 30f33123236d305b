"""A throwaway Mosquitto on a free local port, for tests and the benchmark.

The machine's broker queues at most 1000 messages for an offline client and keeps 20 in
flight; a private one is sized for bursts and can be stopped and restarted (with
persistence) to show that nothing the broker accepted is lost.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateBroker:
    def __init__(
        self,
        *,
        persistence: bool = False,
        max_queued: int = 0,
        max_inflight: int = 0,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="zias-mosquitto-"))
        self.persistence = persistence
        self.config_path = self.dir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"max_queued_messages {max_queued}",  # 0: no limit
            f"max_inflight_messages {max_inflight}",
            "set_tcp_nodelay true",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {self.dir}/",
            "autosave_interval 1" if persistence else "",
            f"log_dest file {self.dir}/mosquitto.log",
            # Started as root, Mosquitto would switch to user "mosquitto", which cannot write
            # the persistence file in this private directory: stay who we are.
            f"user {getpass.getuser()}",
        ]
        self.config_path.write_text("\n".join(line for line in lines if line) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def connections(self) -> int:
        """TCP connections the broker has accepted so far (its log's count; logins included)."""
        log = self.dir / "mosquitto.log"
        return log.read_text().count("New connection from") if log.exists() else 0

    def start(self, timeout: float = 10.0) -> PrivateBroker:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: see {self.dir}/mosquitto.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its persistence file on the way out."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart(self, pause_s: float = 0.0) -> None:
        self.stop()
        time.sleep(pause_s)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivateBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()
