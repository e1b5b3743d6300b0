"""The bot's settings, read once from Settings and checked before anything starts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from shieldwall.domain import ChatMode, InvalidArgumentError
from shieldwall.settings import Settings

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True, slots=True)
class BotConfig:
    token: str
    api_base: str
    default_mode: ChatMode
    review_chat_id: int | None = None
    restrict_after: int = 0
    restrict_seconds: int = 0
    max_file_bytes: int = 20 * 1024 * 1024
    notice_seconds: float = 60.0
    #: Threads scanning images at once.
    workers: int = 2
    #: Updates being handled at once; getUpdates waits for room beyond this.
    in_flight: int = 64
    #: Seconds a getUpdates call waits on the server for updates.
    poll_timeout: int = 25
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8081

    @property
    def webhook_path(self) -> str:
        return urlsplit(self.webhook_url or "").path or "/"

    @classmethod
    def from_settings(cls, settings: Settings) -> BotConfig:
        """Raises InvalidArgumentError naming the first setting that is missing or wrong."""
        if settings.telegram_token is None:
            raise InvalidArgumentError(
                "set SHIELDWALL_TELEGRAM_TOKEN to the bot's token (from @BotFather)"
            )
        token = settings.telegram_token.get_secret_value().strip()
        if not _TOKEN.match(token):
            raise InvalidArgumentError(
                "SHIELDWALL_TELEGRAM_TOKEN does not look like a bot token (<digits>:<secret>)"
            )
        secret = (
            settings.telegram_webhook_secret.get_secret_value()
            if settings.telegram_webhook_secret
            else None
        )
        if settings.telegram_webhook_url:
            if urlsplit(settings.telegram_webhook_url).scheme != "https":
                raise InvalidArgumentError("SHIELDWALL_TELEGRAM_WEBHOOK_URL must be an https URL")
            if not secret or not _SECRET.match(secret):
                raise InvalidArgumentError(
                    "webhook mode needs SHIELDWALL_TELEGRAM_WEBHOOK_SECRET: 1-256 characters of "
                    "A-Z, a-z, 0-9, _ and - (Telegram sends it with every update; others are "
                    "refused)"
                )
        host, _, port = settings.telegram_webhook_listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidArgumentError("SHIELDWALL_TELEGRAM_WEBHOOK_LISTEN must be host:port")
        workers = settings.scan_workers or os.cpu_count() or 1
        return cls(
            token=token,
            api_base=settings.telegram_api_base.rstrip("/"),
            default_mode=settings.telegram_default_mode,
            review_chat_id=settings.telegram_review_chat,
            restrict_after=settings.telegram_restrict_after,
            restrict_seconds=settings.telegram_restrict_seconds,
            max_file_bytes=min(settings.telegram_max_file_bytes, settings.max_image_bytes),
            notice_seconds=float(settings.telegram_notice_seconds),
            workers=workers,
            in_flight=max(16, 8 * workers),
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=secret,
            webhook_host=host,
            webhook_port=int(port),
        )
