"""``shieldwall serve`` as a child process for the service benchmarks: run the CLI against its
database, start the server, wait for /readyz, read its memory and error count, stop it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from corpus import CACHE
from machine import proc_memory, terminate

SHIELDWALL = Path(sys.executable).with_name("shieldwall")
INTERNAL = re.compile(r'^shieldwall_errors_total\{kind="internal"\} (\S+)$', re.MULTILINE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``shieldwall serve`` on loopback, on the SQLite database ``db``, its output in ``log``.
    ``env`` is added to this process's environment; a None value removes that variable."""

    def __init__(self, db: Path, log: Path, env: Mapping[str, str | None] | None = None) -> None:
        self.db = f"sqlite:///{db}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        merged: dict[str, str | None] = {**os.environ, **(env or {})}
        merged["SHIELDWALL_DATABASE_URL"] = self.db
        self.env = {k: v for k, v in merged.items() if v is not None}
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_s = 0.0  # seconds from launch to ready

    @classmethod
    def in_folder(cls, folder: Path, env: Mapping[str, str | None] | None = None) -> Server:
        """A server whose database and log are in ``folder``."""
        return cls(folder / "shieldwall.db", folder / "server.log", env)

    def cli(self, *args: str) -> str:
        """``shieldwall ARGS --db DB``; its standard output."""
        done = subprocess.run(
            [str(SHIELDWALL), *args, "--db", self.db],
            env=self.env,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"shieldwall {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
        return done.stdout.decode().strip()

    def start(self, timeout: float = 300.0) -> dict[str, Any]:
        """Launch it and wait until /readyz says ready with the classifier past loading; the
        /readyz body."""
        started = time.perf_counter()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(SHIELDWALL), "serve", "--port", str(self.port), "--log-level", "warning"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"server exited ({self.process.returncode}) at start:\n"
                    f"{self.log_text()[-2000:]}"
                )
            with contextlib.suppress(httpx.HTTPError, ValueError):
                ready = httpx.get(f"{self.url}/readyz", timeout=2).json()
                if ready.get("ready") and ready["classifier"]["state"] != "loading":
                    self.ready_s = time.perf_counter() - started
                    return dict(ready)
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"server not ready after {timeout:.0f} s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def memory(self) -> tuple[int, int]:
        """(RSS, peak RSS) in KiB."""
        return proc_memory(self.pid)

    def internal_errors(self) -> float:
        found = INTERNAL.search(httpx.get(f"{self.url}/metrics", timeout=10).text)
        return float(found.group(1)) if found else 0.0

    def stop(self) -> int | None:
        """SIGTERM (uvicorn shuts down cleanly); the exit status."""
        return terminate(self.process, 30)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def keep_log(self, name: str) -> Path:
        """A copy of the log as bench/.cache/NAME (the server's own folder may be temporary)."""
        CACHE.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(self.log, CACHE / name))
