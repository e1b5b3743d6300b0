"""Webhook mode: Telegram POSTs each update to us (behind the operator's HTTPS proxy).

Every request must carry the ``secret_token`` given to setWebhook in its
X-Telegram-Bot-Api-Secret-Token header (compared in constant time); anything else is refused
with 401, so nobody who finds the URL can make the bot delete or restrict. An update is stored
in the inbox before the 200 answer; Telegram resends until it gets one, and a resent update is
recognised by its id.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from shieldwall.adapters.telegram.handlers import ALLOWED_UPDATES
from shieldwall.adapters.telegram.updates import UpdateLoop

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Largest update body accepted (Telegram's are a few KB).
MAX_BODY = 1024 * 1024


def webhook_app(loop: UpdateLoop, secret: str, path: str) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"error": "bad secret token"}, status=401)
        try:
            data = json.loads(await request.read())
            update = Update.model_validate(data, context={"bot": loop.ctx.bot})
        except (ValueError, ValidationError):
            return web.json_response({"error": "not a Telegram update"}, status=400)
        await loop.accept([update])
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(path, receive)
    return app


async def serve_webhook(loop: UpdateLoop, stop: asyncio.Event) -> None:
    """Listen, register the webhook with Telegram, and serve until ``stop`` is set."""
    config = loop.ctx.config
    assert config.webhook_url and config.webhook_secret
    runner = web.AppRunner(
        webhook_app(loop, config.webhook_secret, config.webhook_path),
        handle_signals=False,
        access_log=None,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, config.webhook_host, config.webhook_port).start()
        await loop.ctx.bot.set_webhook(
            config.webhook_url,
            secret_token=config.webhook_secret,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
        )
        log.info(
            "webhook %s registered; listening on %s:%d",
            config.webhook_url,
            config.webhook_host,
            config.webhook_port,
        )
        await stop.wait()
    finally:
        await runner.cleanup()
