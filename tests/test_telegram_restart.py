"""The bot killed (SIGKILL) and restarted mid-stream: no update lost, no action doubled.

``shieldwall telegram`` runs as a real process against the fake Bot API. The first process is
killed while one of its deleteMessage calls is in flight (the fake drops it unanswered and
unapplied), the second while a removal notice is in flight; the third finishes the stream and
stops on SIGTERM. Deletions are exactly once; notices at most once (the one killed in flight
is not sent again). Meanwhile other messages are at every stage: fetched and not yet stored,
stored and not handled, scanned, half acted on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from conftest import synthetic_photo, to_bytes
from fake_bot_api import Call, DropConnection, FakeBotApi
from shieldwall.domain import verify_chain
from shieldwall.engine import open_runtime
from shieldwall.storage import TelegramInbox, create_database_engine
from telegram_support import GROUP, MEMBER, OTHER_GROUP, REVIEW_CHAT, SPAMMER

KNOWN = "berlin-cathedral.jpg"
CHATS = (GROUP, OTHER_GROUP, REVIEW_CHAT - 1)


class Bot:
    """One ``shieldwall telegram`` process; its log goes to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shieldwall", "telegram", "--log-level", "warning"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self.log.close()


TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"


def start_stream(
    fake: FakeBotApi, known: bytes
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """24 photo messages over three chats, every other one a known image; (bad, benign)."""
    bad: set[tuple[int, int]] = set()
    benign: set[tuple[int, int]] = set()
    for n in range(24):
        chat, message_id = CHATS[n % 3], 100 + n
        if n % 2:
            fake.push(fake.photo_update(chat, message_id, MEMBER, to_bytes(synthetic_photo(n))))
            benign.add((chat, message_id))
        else:
            fake.push(fake.photo_update(chat, message_id, SPAMMER, known))
            bad.add((chat, message_id))
    return bad, benign


class Killer:
    """Kills the running bot at the ``nth`` call of ``method`` in a given stage, before the
    call is answered or applied."""

    def __init__(self, fake: FakeBotApi) -> None:
        self.fake = fake
        self.stage = 0
        self.bot: Bot | None = None
        self.killed = threading.Event()
        self._counts: Counter[tuple[int, str]] = Counter()

    def at(self, method: str, nth: int, stage: int) -> None:
        def hook(call: Call) -> None:
            if self.stage != stage or self.bot is None:
                return
            self._counts[(stage, method)] += 1
            if self._counts[(stage, method)] == nth:
                self.bot.kill()
                self.killed.set()
                raise DropConnection

        self.fake.on_call(method, hook)

    def run_until_killed(self, stage: int, env: dict[str, str], log: Path) -> None:
        self.stage, self.bot = stage, Bot(env, log)
        self.killed.clear()
        while not self.killed.wait(0.2):
            assert self.bot.process.poll() is None, log.read_text()[-3000:]
        assert self.bot.wait() == -signal.SIGKILL


def run_to_the_end(
    fake: FakeBotApi, env: dict[str, str], log: Path, bad: set[tuple[int, int]]
) -> None:
    bot = Bot(env, log)
    engine = create_database_engine(env["SHIELDWALL_DATABASE_URL"])
    inbox = TelegramInbox(engine)

    def finished(f: FakeBotApi) -> bool:
        offset = inbox.offset()
        done = offset is not None and offset > f.last_update_id and not inbox.pending()
        return done and bad <= f.deleted

    try:
        fake.wait_for(finished, timeout=60)
    finally:
        bot.process.send_signal(signal.SIGTERM)
        code = bot.wait()
        engine.dispose()
    assert code == 0, log.read_text()[-3000:]


def test_killed_twice_mid_stream_nothing_lost_nothing_doubled(
    database_url: str, samples: dict[str, bytes], tmp_path: Path
) -> None:
    setup = open_runtime(database_url)
    setup.curator.create_bank("ncii")
    setup.curator.add_image("ncii", samples[KNOWN], "test")
    setup.close()
    log = tmp_path / "bot.log"
    with FakeBotApi(token=TOKEN) as fake:
        bad, benign = start_stream(fake, samples[KNOWN])
        env = {
            **os.environ,
            "SHIELDWALL_DATABASE_URL": database_url,
            "SHIELDWALL_TELEGRAM_TOKEN": fake.token,
            "SHIELDWALL_TELEGRAM_API_BASE": fake.base_url,
            "SHIELDWALL_TELEGRAM_DEFAULT_MODE": "enforce",
            "SHIELDWALL_TELEGRAM_NOTICE_SECONDS": "0",
            "SHIELDWALL_CLASSIFIER": "none",
            "SHIELDWALL_SCAN_WORKERS": "2",
        }
        killer = Killer(fake)
        killer.at("deleteMessage", 3, stage=1)
        killer.at("sendMessage", 2, stage=2)
        killer.run_until_killed(1, env, log)
        killer.run_until_killed(2, env, log)
        run_to_the_end(fake, env, log, bad)
        applied = Counter(
            (int(c.params["chat_id"]), int(c.params["message_id"]))
            for c in fake.calls_to("deleteMessage")
            if c.status == 200
        )
        notices = [c for c in fake.calls_to("sendMessage") if c.status == 200]
        dropped = [c for c in fake.calls if c.status == 0 and c.method != "getUpdates"]
    assert len(dropped) == 2, "the two calls in flight at the kills were never answered"
    assert set(applied) == bad and set(applied.values()) == {1}, "each deleted exactly once"
    assert not benign & fake.deleted
    # A notice is sent at most once: the one in flight at the second kill is lost (and any
    # other whose request had not reached the server yet), none is doubled.
    assert len(bad) - 3 <= len(notices) < len(bad)
    assert len({c.params["chat_id"] for c in notices}) == 3
    runtime = open_runtime(database_url, load_index=False)
    try:
        decided = Counter(
            e.payload["reference"] for e in runtime.audit.iter_events() if e.event == "scan.decided"
        )
        deleted = [e for e in runtime.audit.iter_events() if e.event == "telegram.deleted"]
        assert len(decided) == 24 and set(decided.values()) == {1}, "each decided once"
        assert len(deleted) == len(bad)
        assert verify_chain(runtime.audit.iter_events()).broken is None
    finally:
        runtime.close()
