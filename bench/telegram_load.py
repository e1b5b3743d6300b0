"""Pieces of the Telegram bot benchmark (bench/telegram_bot.py): the photos as Telegram delivers
them, the database with the known bank, ``shieldwall telegram`` as a child process against the
fake Bot API of tests/fake_bot_api.py, a watch on its deleteMessage calls, and read-only looks at
the bot's inbox table (what it stored and handled, and when)."""

from __future__ import annotations

import os
import queue
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from corpus import CACHE, ROOT
from machine import terminate
from shieldwall.engine import open_runtime
from shieldwall.media.copies import telegram_reencode

sys.path.insert(0, str(ROOT / "tests"))
from fake_bot_api import Call, FakeBotApi

# FakeBotApi and Call are re-exported (tests/ is on the path once this module is imported).
__all__ = [
    "BotProcess",
    "Call",
    "DeleteWatch",
    "FakeBotApi",
    "UpdateRow",
    "bank_database",
    "copy_db",
    "handled_count",
    "telegram_copy",
    "update_rows",
    "wait_handled",
]

SHIELDWALL = Path(sys.executable).with_name("shieldwall")
#: The fake's default token is too short for the CLI's token check.
TOKEN = "123456:BENCH-token-0123456789abcdef"
BANK = "ncii"
RUN_DIR = CACHE / "telegram_run"


def telegram_copy(path: Path) -> bytes:
    """The photo as Telegram delivers it (1280 px long side, JPEG q80); cached under .cache."""
    target = CACHE / "telegram_copies" / path.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:
            data = telegram_reencode(image)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target.read_bytes()


def bank_database(originals: Sequence[Path]) -> Path:
    """A fresh SQLite database with the ``ncii`` bank holding the originals (hash-only open)."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    path = RUN_DIR / "bank.db"
    remove_db(path)
    runtime = open_runtime(f"sqlite:///{path}", load_index=False)
    try:
        runtime.curator.create_bank(BANK)
        for original in originals:
            runtime.curator.add_image(BANK, original.read_bytes(), "bench")
    finally:
        runtime.close()
    return path


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_db(source: Path, name: str) -> Path:
    """A copy of the database (SQLite's backup API, so a WAL is carried over too)."""
    target = RUN_DIR / name
    remove_db(target)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


class BotProcess:
    """``shieldwall telegram`` on ``db``, polling ``fake``; its output in ``log``."""

    def __init__(
        self, fake: FakeBotApi, db: Path, log: Path, *, classifier: str, notice_seconds: int
    ) -> None:
        self.fake, self.db, self.log = fake, db, log
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIELDWALL_")}
        env |= {
            "SHIELDWALL_DATABASE_URL": f"sqlite:///{db}",
            "SHIELDWALL_TELEGRAM_TOKEN": fake.token,
            "SHIELDWALL_TELEGRAM_API_BASE": fake.base_url,
            "SHIELDWALL_TELEGRAM_DEFAULT_MODE": "enforce",
            "SHIELDWALL_TELEGRAM_NOTICE_SECONDS": str(notice_seconds),
            "SHIELDWALL_SCAN_WORKERS": "2",
            "SHIELDWALL_CLASSIFIER": classifier,
        }
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_s = 0.0

    def start(self, timeout: float = 120.0) -> BotProcess:
        """Launch it; wait for its first getUpdates (index loaded, getMe and deleteWebhook
        done; the classifier may still be loading: warm-up messages wait for it)."""
        started = time.perf_counter()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(SHIELDWALL), "telegram"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        while not self.fake.calls_to("getUpdates"):
            if self.process.poll() is not None:
                raise SystemExit(f"the bot exited ({self.process.returncode}):\n{self.tail()}")
            if time.perf_counter() - started > timeout:
                self.stop()
                raise SystemExit(f"the bot did not poll within {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.05)
        self.ready_s = time.perf_counter() - started
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> int | None:
        """SIGTERM (the bot drains its handlers and exits); the exit status."""
        return terminate(self.process, 60)

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def errors(self) -> list[str]:
        """Log lines with a warning, an error or a traceback."""
        marks = ("Traceback", "ERROR", "WARNING", "Exception")
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if any(mark in line for mark in marks)]


@dataclass(frozen=True)
class Delete:
    chat_id: int
    message_id: int
    at: float
    status: int


class DeleteWatch:
    """Every deleteMessage call the fake answers, as it is answered (a hook in its thread)."""

    def __init__(self, fake: FakeBotApi) -> None:
        self.queue: queue.Queue[Delete] = queue.Queue()
        fake.on_call("deleteMessage", self._seen)

    def _seen(self, call: Call) -> None:
        params = call.params
        self.queue.put(
            Delete(int(params["chat_id"]), int(params["message_id"]), call.at, call.status)
        )

    def wait(self, chat_id: int, message_id: int, timeout: float) -> Delete | None:
        """The deletion of that message (other deletions seen meanwhile are dropped)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                seen = self.queue.get(timeout=left)
            except queue.Empty:
                return None
            if (seen.chat_id, seen.message_id) == (chat_id, message_id):
                return seen
        return None


# -- the bot's inbox, read-only ------------------------------------------------------------------

#: time.time() - time.monotonic() in this process, to put the bot's done_at on the fake's clock.
WALL_MINUS_MONOTONIC = time.time() - time.monotonic()


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def handled_count(db: Path, first: int, last: int) -> int:
    """Updates first..last stored and no longer pending."""
    with _connect(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM telegram_updates WHERE update_id BETWEEN ? AND ? "
            "AND status != 'pending'",
            (first, last),
        ).fetchone()
    conn.close()
    return int(row[0])


def wait_handled(db: Path, first: int, last: int, timeout: float, every: float = 0.1) -> bool:
    """Whether every update first..last was handled within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while handled_count(db, first, last) < last - first + 1:
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


@dataclass(frozen=True)
class UpdateRow:
    update_id: int
    status: str
    attempts: int
    received: float  # on this process's monotonic clock
    done: float | None


def _monotonic(stamp: str | None) -> float | None:
    """A stored UTC time (SQLite keeps it naive) on this process's monotonic clock."""
    if stamp is None:
        return None
    moment = datetime.fromisoformat(stamp)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.timestamp() - WALL_MINUS_MONOTONIC


def update_rows(db: Path, first: int, last: int) -> dict[int, UpdateRow]:
    with _connect(db) as conn:
        rows = conn.execute(
            "SELECT update_id, status, attempts, received_at, done_at FROM telegram_updates "
            "WHERE update_id BETWEEN ? AND ?",
            (first, last),
        ).fetchall()
    conn.close()
    found = {}
    for update_id, status, attempts, received, done in rows:
        at = _monotonic(received)
        assert at is not None
        found[int(update_id)] = UpdateRow(
            int(update_id), status, int(attempts), at, _monotonic(done)
        )
    return found
