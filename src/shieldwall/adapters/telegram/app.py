"""Running the bot: one Bot, the Dispatcher, the update loop (polling or webhook) and the scan
threads, over a runtime shared in process with the engine, policy, actions and audit log (and
the same database as the HTTP service)."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats

from shieldwall.adapters.telegram.client import RetryMiddleware, make_bot
from shieldwall.adapters.telegram.config import BotConfig
from shieldwall.adapters.telegram.context import BotContext
from shieldwall.adapters.telegram.handlers import build_dispatcher
from shieldwall.adapters.telegram.updates import UpdateLoop
from shieldwall.adapters.telegram.webhook import serve_webhook
from shieldwall.engine import Runtime

log = logging.getLogger(__name__)
#: Seconds a stop waits for running handlers (the rest resume at the next start).
DRAIN_SECONDS = 20.0


async def run_bot(
    config: BotConfig,
    runtime: Runtime,
    stop: asyncio.Event,
    *,
    retry: RetryMiddleware | None = None,
) -> UpdateLoop:
    """Serve until ``stop`` is set; the loop is returned for its counters. Raises
    TelegramUnauthorizedError when Telegram refuses the token."""
    bot = make_bot(config.token, config.api_base, retry)
    scans = ThreadPoolExecutor(config.workers, thread_name_prefix="shieldwall-scan")
    try:
        me = await bot.get_me()
        await _describe_commands(bot)
        ctx = BotContext(bot, runtime, config, me.id, me.username or "", scans)
        loop = UpdateLoop(ctx, build_dispatcher(ctx))
        await loop.resume()
        pruner = asyncio.create_task(loop.prune_forever(stop))
        log.info(
            "bot @%s started (%s)", me.username, "webhook" if config.webhook_url else "polling"
        )
        try:
            if config.webhook_url:
                await serve_webhook(loop, stop)
            else:
                await bot.delete_webhook(drop_pending_updates=False)
                await loop.poll(stop)
        finally:
            stop.set()
            await pruner
            if not await loop.drain(DRAIN_SECONDS):
                log.warning("stopped with updates unfinished: they resume at the next start")
        return loop
    finally:
        await bot.session.close()
        scans.shutdown(wait=True, cancel_futures=True)


GROUP_COMMANDS = {
    "shieldwall_status": "What this group is protected against",
    "report": "Reply to a message that should not be here",
    "policy": "Admins: this group's rules",
    "shieldwall_set": "Admins: mode, review chat, restrictions, explicit images",
    "blocktext": "Admins: block a bot name, link or phrase here",
    "unblocktext": "Admins: unblock one",
    "blocklist": "Admins: what is blocked here",
}


async def _describe_commands(bot: Bot) -> None:
    """The command menus members see (best effort: the bot works without them)."""
    try:
        await bot.set_my_commands(
            [BotCommand(command=c, description=d) for c, d in GROUP_COMMANDS.items()],
            scope=BotCommandScopeAllGroupChats(),
        )
        await bot.set_my_commands(
            [BotCommand(command="help", description="How to protect yourself")],
            scope=BotCommandScopeAllPrivateChats(),
        )
    except TelegramAPIError as exc:
        log.info("could not set the command menus: %s", exc)
