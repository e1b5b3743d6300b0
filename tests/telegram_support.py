"""Helpers for bot tests: the real bot, in a thread of its own, against the fake Bot API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from fake_bot_api import FakeBotApi
from shieldwall.actions import Backoff
from shieldwall.adapters.telegram import BotConfig, RetryMiddleware, run_bot
from shieldwall.domain import AuditEvent, ChatMode
from shieldwall.engine import Runtime
from shieldwall.storage import TelegramInbox

GROUP = -1001234567890
OTHER_GROUP = -1009876543210
REVIEW_CHAT = -1005555555555
ADMIN, MEMBER, SPAMMER = 4242, 5151, 6161


def config_for(fake: FakeBotApi, **changes: Any) -> BotConfig:
    """Enforcing, no notice throttling, short polls: what most scenarios want."""
    base = BotConfig(
        token=fake.token,
        api_base=fake.base_url,
        default_mode=ChatMode.ENFORCE,
        notice_seconds=0.0,
        poll_timeout=1,
        workers=2,
        in_flight=32,
    )
    return replace(base, **changes)


def fast_retries() -> RetryMiddleware:
    return RetryMiddleware(backoff=Backoff(base_seconds=0.05, cap_seconds=0.2, max_attempts=4))


@dataclass
class RunningBot:
    fake: FakeBotApi
    runtime: Runtime
    retry: RetryMiddleware
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop
    stop_event: asyncio.Event
    errors: list[BaseException] = field(default_factory=list)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.thread.join(30)
        assert not self.thread.is_alive(), "the bot did not stop"
        if self.errors:
            raise self.errors[0]


@contextmanager
def running_bot(fake: FakeBotApi, runtime: Runtime, **changes: Any) -> Iterator[RunningBot]:
    """The bot as ``shieldwall telegram`` runs it, in a background thread; stopped (and its
    errors raised) on exit."""
    config = config_for(fake, **changes)
    retry = fast_retries()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    errors: list[BaseException] = []

    def main() -> None:
        try:
            loop.run_until_complete(run_bot(config, runtime, stop, retry=retry))
        except BaseException as exc:  # surfaced by RunningBot.stop
            errors.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="bot", daemon=True)
    bot = RunningBot(fake, runtime, retry, thread, loop, stop, errors)
    thread.start()
    try:
        yield bot
    finally:
        bot.stop()


def events(runtime: Runtime, name: str) -> list[AuditEvent]:
    return [e for e in runtime.audit.iter_events() if e.event == name]


def sent_to(fake: FakeBotApi, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.sent if int(m["chat_id"]) == chat_id]


def deleted_in(fake: FakeBotApi, chat_id: int) -> set[int]:
    return {message for chat, message in fake.deleted if chat == chat_id}


def settle(bot: RunningBot, timeout: float = 20.0) -> None:
    """Wait until every update pushed so far is stored and handled."""
    inbox = TelegramInbox(bot.runtime.engine)
    last = bot.fake.last_update_id

    def handled(_: FakeBotApi) -> bool:
        offset = inbox.offset()
        return offset is not None and offset > last and not inbox.pending()

    bot.fake.wait_for(handled, timeout)
