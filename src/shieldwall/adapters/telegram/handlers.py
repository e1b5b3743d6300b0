"""The aiogram Dispatcher: which update goes to which part of the bot."""

from __future__ import annotations

from aiogram import Dispatcher, F, Router
from aiogram.enums import ChatType

from shieldwall.adapters.telegram.commands import Commands
from shieldwall.adapters.telegram.context import BotContext
from shieldwall.adapters.telegram.decisions import Decisions
from shieldwall.adapters.telegram.moderation import GroupModerator
from shieldwall.adapters.telegram.reviews import ReviewDesk

#: Update types the bot asks Telegram for (chat_member would need more rights and is unused).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")


def build_dispatcher(ctx: BotContext) -> Dispatcher:
    """Handlers get the update's id as ``update_id`` (feed it with ``update_id=``)."""
    desk = ReviewDesk(ctx)
    moderator = GroupModerator(ctx, desk)
    decisions = Decisions(ctx, moderator, desk)
    commands = Commands(ctx, moderator, decisions, desk)
    router = Router(name="shieldwall")
    router.my_chat_member.register(commands.on_membership)
    router.callback_query.register(decisions.on_button, F.data.startswith("sw:"))
    router.message.register(commands.private, F.chat.type == ChatType.PRIVATE)
    router.message.register(commands.on_group_message, F.text.startswith("/"))
    router.message.register(moderator.handle)
    router.edited_message.register(moderator.handle)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher
