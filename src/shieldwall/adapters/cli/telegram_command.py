"""``shieldwall telegram``: run the Telegram moderation bot."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from shieldwall.actions import WebhookSender
from shieldwall.adapters.cli.common import DbOption, fail, load_settings
from shieldwall.adapters.setup import classifier_from, runtime_from
from shieldwall.domain import ShieldwallError
from shieldwall.engine import Runtime

if TYPE_CHECKING:
    from shieldwall.adapters.telegram import BotConfig

log = logging.getLogger("shieldwall.telegram")


def telegram(
    db: DbOption = None,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run the Telegram bot (token in SHIELDWALL_TELEGRAM_TOKEN; long polling unless
    SHIELDWALL_TELEGRAM_WEBHOOK_URL is set). Make it an admin of each group with the Delete
    messages right; new groups start in the mode SHIELDWALL_TELEGRAM_DEFAULT_MODE names."""
    # aiogram takes 1.8 s and ~100 MB to import: only this command pays for it.
    from aiogram.exceptions import TelegramUnauthorizedError

    from shieldwall.adapters.telegram import BotConfig

    settings = load_settings()
    try:
        config = BotConfig.from_settings(settings)
    except ShieldwallError as exc:
        raise fail(str(exc)) from None
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if log_level.lower() != "debug":  # aiogram logs a line per update at info
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    classifier, why = classifier_from(settings)
    try:
        runtime = runtime_from(settings, classifier=classifier, database_url=db)
    except ShieldwallError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # a database that cannot be opened, a bad URL
        raise fail(f"cannot start: {exc.__class__.__name__}: {exc}".splitlines()[0]) from None
    if classifier is None:
        log.warning("running hash-only: %s", why)
    else:
        threading.Thread(target=_warm, args=(classifier.load,), daemon=True).start()
    sender = (
        WebhookSender(runtime.outbox, runtime.audit, settings.webhook_secret)
        if settings.webhook_url
        else None
    )
    try:
        asyncio.run(_serve(config, runtime, sender))
    except TelegramUnauthorizedError:
        raise fail("Telegram refused SHIELDWALL_TELEGRAM_TOKEN (revoked or mistyped?)") from None
    finally:
        runtime.close()


async def _serve(config: BotConfig, runtime: Runtime, sender: WebhookSender | None) -> None:
    from shieldwall.adapters.telegram import run_bot

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if sender is not None:
        sender.start()
    # Start-up made many long-lived objects (imports, indexes): keep the garbage collector from
    # walking them all in every full collection (as the HTTP service does).
    gc.collect()
    gc.freeze()
    try:
        await run_bot(config, runtime, stop)
    finally:
        if sender is not None:
            sender.stop()


def _warm(load: object) -> None:
    try:
        load()  # type: ignore[operator]
    except Exception as exc:  # scans still match hashes; the classifier error is recorded
        log.error("classifier did not load: %s", exc)
