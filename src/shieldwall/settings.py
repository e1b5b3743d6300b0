"""One Settings object, read from SHIELDWALL_* environment variables. Only adapters read it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shieldwall.domain import ChatMode
from shieldwall.media import DecodeLimits

DEFAULT_DATABASE_URL = "sqlite:///./var/shieldwall.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHIELDWALL_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the database: SQLite file (default) or postgresql://...",
    )
    max_image_bytes: int = Field(
        50 * 1024 * 1024, gt=0, description="Largest image accepted, in bytes (default 50 MB)."
    )
    max_image_pixels: int = Field(
        100_000_000,
        gt=0,
        description="Largest image accepted, in pixels (width x height; default 100 MP).",
    )

    max_webp_pixels: int = Field(
        25_000_000,
        gt=0,
        description="Largest WebP image accepted, in pixels (default 25 MP): WebP decodes only at "
        "full size, ~15 bytes of memory per pixel.",
    )

    crop_variants: bool = Field(
        True,
        description="Bank extra PDQ hashes of common crops of each image, so cropped copies match.",
    )

    policy_file: Path | None = Field(
        None,
        description="Verdict policy TOML file (default: the bundled policy; see "
        "`shieldwall policy show`).",
    )
    classifier: str = Field(
        "opennsfw",
        description="Explicit-image classifier: 'opennsfw' (needs the nsfw extra) or 'none' "
        "(hash-only). Without the extra the service runs hash-only and says so in /readyz.",
    )
    webhook_url: str | None = Field(
        None, description="URL the notify action POSTs signed decisions to (unset: skipped)."
    )
    webhook_secret: str = Field(
        "",
        description="Shared secret for the webhook HMAC-SHA256 signature (X-Shieldwall-Signature).",
    )
    scan_workers: int = Field(
        0,
        ge=0,
        description="Threads scanning images at once (0: the CPU count).",
    )
    scan_queue: int = Field(
        0,
        ge=0,
        description="Scans allowed to wait for a worker before new ones get 503 "
        "(0: four times the workers).",
    )

    telegram_token: SecretStr | None = Field(
        None, description="Telegram bot token from @BotFather (needed by `shieldwall telegram`)."
    )
    telegram_api_base: str = Field(
        "https://api.telegram.org",
        description="Bot API server: Telegram's, or a self-hosted telegram-bot-api server.",
    )
    telegram_webhook_url: str | None = Field(
        None,
        description="Public HTTPS URL Telegram posts updates to; unset: long polling (default).",
    )
    telegram_webhook_secret: SecretStr | None = Field(
        None,
        description="Webhook secret_token (1-256 of A-Z a-z 0-9 _ -); required in webhook mode: "
        "requests without it are refused.",
    )
    telegram_webhook_listen: str = Field(
        "127.0.0.1:8081",
        description="host:port the webhook receiver listens on (behind your HTTPS proxy).",
    )
    telegram_default_mode: ChatMode = Field(
        ChatMode.DRY_RUN,
        description="Mode of a newly added group: 'dry-run' (report, delete nothing) or "
        "'enforce'; each group's admins change it with /shieldwall_set mode.",
    )
    telegram_review_chat: int | None = Field(
        None,
        description="Chat id that gets review items and reports of groups that set none.",
    )
    telegram_restrict_after: int = Field(
        0,
        ge=0,
        le=100,
        description="Default for new groups: restrict a sender after this many blocked posts "
        "(0: never).",
    )
    telegram_restrict_seconds: int = Field(
        0,
        ge=0,
        description="How long a restriction lasts (0: until an admin lifts it).",
    )
    telegram_max_file_bytes: int = Field(
        20 * 1024 * 1024,
        gt=0,
        description="Largest file downloaded for a scan (Telegram's Bot API serves up to 20 MB).",
    )
    telegram_notice_seconds: int = Field(
        60,
        ge=0,
        description="At most one removal notice per group in this many seconds (more removals "
        "are counted into the next one).",
    )

    def decode_limits(self) -> DecodeLimits:
        return DecodeLimits(
            max_bytes=self.max_image_bytes,
            max_pixels=self.max_image_pixels,
            max_webp_pixels=min(self.max_webp_pixels, self.max_image_pixels),
        )
