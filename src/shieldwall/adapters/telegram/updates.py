"""Getting updates and handing them to the Dispatcher, durably.

Updates are stored in the inbox (with the offset they imply) before the next getUpdates call
tells Telegram they arrived; each is marked handled only when its handler returns. aiogram's
own polling confirms an update while its handler still runs, so a crash there loses it; here a
restart handles what was stored and not finished. Webhook mode stores before answering 200
(Telegram sends it again until then), and a redelivered update id is recognised and skipped.

Updates about one message (an edit after its original, two presses of one button) run one
after another; all others run concurrently, at most ``in_flight`` held at once (getUpdates asks
for no more than the room left, and waits when there is none), so memory stays bounded under a
burst. An update whose handler fails is tried three
times (across restarts too) and then recorded as failed: a poisoned update cannot wedge the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Hashable
from datetime import timedelta
from typing import Any

from aiogram import Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.methods import GetUpdates
from aiogram.types import Update

from shieldwall.actions import Backoff
from shieldwall.adapters.telegram.context import BotContext
from shieldwall.adapters.telegram.handlers import ALLOWED_UPDATES

log = logging.getLogger(__name__)
#: Attempts at one update before it is recorded as failed.
MAX_ATTEMPTS = 3
#: Handled updates and finished messages are forgotten after this (Telegram redelivers within
#: a day; buttons on review cards work this long).
KEEP = timedelta(days=30)
PRUNE_EVERY_SECONDS = 3600.0


def ordering_key(update: Update) -> Hashable:
    """Updates with the same key are handled in order; None: no ordering needed."""
    message = update.message or update.edited_message
    if message is not None:
        # A /report acts on the message it replies to: in order with that message's updates.
        reported = (message.text or "").startswith("/report") and message.reply_to_message
        anchor = message.reply_to_message if reported else message
        assert anchor is not None
        return ("message", anchor.chat.id, anchor.message_id)
    if update.callback_query is not None:
        return ("button", update.callback_query.data)
    if update.my_chat_member is not None:
        return ("chat", update.my_chat_member.chat.id)
    return None


class UpdateLoop:
    def __init__(self, ctx: BotContext, dispatcher: Dispatcher) -> None:
        self.ctx = ctx
        self.dispatcher = dispatcher
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(ctx.config.in_flight)
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}
        self._backoff = Backoff(base_seconds=0.5, cap_seconds=30.0, max_attempts=MAX_ATTEMPTS)
        self.handled = 0
        self.failed = 0

    async def resume(self) -> int:
        """Start the updates a crash or stop left unhandled; how many."""
        pending = await self.ctx.db(self.ctx.inbox.pending)
        for item in pending:
            update = Update.model_validate_json(item.payload, context={"bot": self.ctx.bot})
            self._start(update, resumed=True)
        if pending:
            log.info("resuming %d updates received before the last stop", len(pending))
        return len(pending)

    async def accept(self, updates: list[Update]) -> int:
        """Store updates and start the ones not seen before; how many were new."""
        if not updates:
            return 0
        payloads = [
            (u.update_id, u.model_dump_json(exclude_none=True, by_alias=True)) for u in updates
        ]
        fresh = set(await self.ctx.db(self.ctx.inbox.add, payloads))
        for update in updates:
            if update.update_id in fresh:
                self._start(update)
        return len(fresh)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling until ``stop`` is set."""
        offset = await self.ctx.db(self.ctx.inbox.offset)
        failures = 0
        while not stop.is_set():
            while len(self._tasks) >= self.ctx.config.in_flight and not stop.is_set():
                await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            timeout = self.ctx.config.poll_timeout
            room = min(100, max(1, self.ctx.config.in_flight - len(self._tasks)))
            request = GetUpdates(
                offset=offset, limit=room, timeout=timeout, allowed_updates=list(ALLOWED_UPDATES)
            )
            fetch = asyncio.ensure_future(self.ctx.bot(request, request_timeout=timeout + 10))
            stopping = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if fetch not in done:
                fetch.cancel()
                break
            stopping.cancel()
            try:
                updates = fetch.result()
            except TelegramUnauthorizedError:
                raise
            except TelegramAPIError as exc:  # retries ran out: wait and poll again
                failures += 1
                delay = self._backoff.delay(min(failures, 6))
                log.warning("getUpdates failed (%s); polling again in %.1f s", exc, delay)
                await _sleep_unless(stop, delay)
                continue
            failures = 0
            if updates:
                await self.accept(updates)
                offset = max(u.update_id for u in updates) + 1

    async def drain(self, timeout: float) -> bool:
        """Wait for running handlers; whether all finished (the rest resume after a restart)."""
        if not self._tasks:
            return True
        _, unfinished = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in unfinished:
            task.cancel()
        return not unfinished

    async def prune_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                gone = await self.ctx.db(self.ctx.inbox.prune, KEEP)
                if gone:
                    log.info("forgot %d handled updates and messages older than %s", gone, KEEP)
            except Exception:  # pruning is housekeeping: never let it stop the bot
                log.exception("pruning the inbox failed")
            await _sleep_unless(stop, PRUNE_EVERY_SECONDS)

    # -- handling --------------------------------------------------------------------------------

    def _start(self, update: Update, resumed: bool = False) -> None:
        name = f"update-{update.update_id}"
        task = asyncio.create_task(self._run(update, resumed), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, update: Update, resumed: bool) -> None:
        key = ordering_key(update)
        async with self._slots:
            if key is None:
                await self._handle(update, resumed)
                return
            lock, users = self._locks.get(key, (asyncio.Lock(), 0))
            self._locks[key] = (lock, users + 1)
            try:
                async with lock:
                    await self._handle(update, resumed)
            finally:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    async def _handle(self, update: Update, resumed: bool) -> None:
        """Storing the update counted its first attempt; a restart or a retry counts another,
        so an update that crashes the process every time is given up too."""
        inbox = self.ctx.inbox
        attempt = await self.ctx.db(inbox.attempt, update.update_id) if resumed else 1
        while True:
            if attempt > MAX_ATTEMPTS:
                await self._give_up(update, "gave up after earlier failed attempts")
                return
            try:
                await self.dispatcher.feed_update(self.ctx.bot, update, update_id=update.update_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("update %d failed (attempt %d)", update.update_id, attempt)
                if attempt >= MAX_ATTEMPTS:
                    await self._give_up(update, f"{exc.__class__.__name__}: {exc}")
                    return
                await asyncio.sleep(self._backoff.delay(attempt))
                attempt = await self.ctx.db(inbox.attempt, update.update_id)
                continue
            await self.ctx.db(inbox.finish, update.update_id)
            self.handled += 1
            return

    async def _give_up(self, update: Update, why: str) -> None:
        self.failed += 1
        await self.ctx.db(self.ctx.inbox.finish, update.update_id, why)
        facts: dict[str, Any] = {"update_id": update.update_id, "error": why[:300]}
        await self.ctx.audit("telegram.update_failed", f"telegram:update:{update.update_id}", facts)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
