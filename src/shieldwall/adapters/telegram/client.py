"""The Bot API client: one aiogram Bot on the configured server, every request retried the way
Telegram asks, and file downloads capped in bytes.

A 429 is waited out for exactly its ``retry_after`` (Telegram's flood control is per chat and per
bot; asking again sooner only extends it), up to ``max_wait_seconds`` for one request. Network
errors and 5xx answers are retried with exponential backoff and jitter. Any other error (400:
message too old to delete, missing rights; 403: the bot was removed) is final: retrying cannot
help, so it is raised at once for the caller to record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from shieldwall.actions import Backoff

log = logging.getLogger(__name__)
#: Seconds a download may take.
DOWNLOAD_TIMEOUT = 30


@dataclass
class RetryStats:
    """What the retries did (read by tests, benchmarks and the status command)."""

    flood_waits: int = 0
    flood_seconds: float = 0.0
    retries: int = 0


@dataclass
class RetryMiddleware(BaseRequestMiddleware):
    backoff: Backoff = field(
        default_factory=lambda: Backoff(base_seconds=0.5, cap_seconds=30.0, max_attempts=6)
    )
    max_wait_seconds: float = 600.0
    stats: RetryStats = field(default_factory=RetryStats)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempt, waited = 0, 0.0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if waited + exc.retry_after > self.max_wait_seconds:
                    raise
                self.stats.flood_waits += 1
                self.stats.flood_seconds += exc.retry_after
                waited += exc.retry_after
                log.warning(
                    "flood control on %s: waiting %s s", method.__api_method__, exc.retry_after
                )
                await self.sleep(exc.retry_after)
            except TelegramEntityTooLarge:
                raise
            except (TelegramNetworkError, TelegramServerError) as exc:
                attempt += 1
                if attempt >= self.backoff.max_attempts:
                    raise
                self.stats.retries += 1
                delay = self.backoff.delay(attempt)
                log.info(
                    "%s failed (%s); retry %d in %.1f s", method.__api_method__, exc, attempt, delay
                )
                await self.sleep(delay)


class KeepResponseTypes(BaseRequestMiddleware):
    """aiogram reads every answer as pydantic's ``Response[T]``, a generic model pydantic caches
    only weakly: each garbage collection dropped the classes and the next answer built one
    again (~3 ms each; 11% of the bot's GIL time in a burst). Holding each one keeps it."""

    def __init__(self) -> None:
        self._held: dict[type[object], object] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self._held:
            self._held[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)


def make_bot(token: str, api_base: str, retry: RetryMiddleware | None = None) -> Bot:
    """A Bot on ``api_base`` (Telegram's, a self-hosted telegram-bot-api, or a test fake),
    sending HTML without link previews and retrying as the module docstring says."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    session.middleware(KeepResponseTypes())
    session.middleware(retry or RetryMiddleware())
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True),
    )


class DownloadError(Exception):
    """A file could not be fetched; ``reason`` is a stable word (too_large, unavailable)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


async def download(
    bot: Bot,
    file_id: str,
    limit: int,
    size: int | None = None,
    backoff: Backoff | None = None,
) -> bytes:
    """The file's bytes, read into memory and never past ``limit``: a file whose ``size`` (as
    the message gave it) or served size is larger raises DownloadError before it is fetched,
    one that turns out larger while it arrives raises then. Network errors are retried."""
    if size is not None and size > limit:
        raise DownloadError("too_large", f"{size} bytes, the limit is {limit}")
    backoff = backoff or Backoff(base_seconds=0.5, cap_seconds=10.0, max_attempts=4)
    file = await bot.get_file(file_id)
    if file.file_size is not None and file.file_size > limit:
        raise DownloadError("too_large", f"{file.file_size} bytes, the limit is {limit}")
    if not file.file_path:
        raise DownloadError("unavailable", "Telegram gave no file path")
    url = bot.session.api.file_url(bot.token, file.file_path)
    for attempt in range(1, backoff.max_attempts + 1):
        try:
            return await _read_capped(bot, url, limit)
        except (aiohttp.ClientError, TimeoutError) as exc:
            status = getattr(exc, "status", None)
            if (status is not None and status < 500) or attempt == backoff.max_attempts:
                detail = f"{exc.__class__.__name__}: {exc}".replace(bot.token, "<token>")
                raise DownloadError("unavailable", detail) from None
            await asyncio.sleep(backoff.delay(attempt))
    raise AssertionError("unreachable")


async def _read_capped(bot: Bot, url: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    async for chunk in bot.session.stream_content(url, timeout=DOWNLOAD_TIMEOUT):
        total += len(chunk)
        if total > limit:
            raise DownloadError("too_large", f"more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
