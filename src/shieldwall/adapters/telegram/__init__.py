"""The Telegram moderation bot (aiogram 3): stops known images, derived fakes and nudify-bot
adverts in groups, with the engine, policy, actions and audit log of the HTTP service."""

from shieldwall.adapters.telegram.app import run_bot
from shieldwall.adapters.telegram.client import RetryMiddleware, RetryStats, make_bot
from shieldwall.adapters.telegram.config import BotConfig

__all__ = ["BotConfig", "RetryMiddleware", "RetryStats", "make_bot", "run_bot"]
