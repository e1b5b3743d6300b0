"""What every part of the bot shares: the Bot, the engine's runtime, the bot's own stores, the
scan threads, and small helpers that keep blocking work off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    ResultChatMemberUnion,
)

from shieldwall.adapters.telegram.config import BotConfig
from shieldwall.domain import ChatSettings, NewAuditEvent
from shieldwall.engine import Runtime
from shieldwall.storage import MessageRecord, TelegramChats, TelegramInbox

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger(__name__)
#: Seconds an admin check is trusted (admins change rarely; every check is an API call).
ADMIN_CACHE_SECONDS = 60.0
#: Seconds a group's settings are trusted without reading them again.
CHAT_CACHE_SECONDS = 30.0
#: Telegram's service account and the anonymous-admin and channel pseudo-users.
SERVICE_USERS = frozenset({777000, 1087968824, 136817688})
BOT_ACTOR = "telegram:bot"


@dataclass
class BotContext:
    bot: Bot
    runtime: Runtime
    config: BotConfig
    me_id: int
    me_username: str
    scans: ThreadPoolExecutor
    chats: TelegramChats = field(init=False)
    inbox: TelegramInbox = field(init=False)
    _admins: dict[tuple[int, int], tuple[bool, float]] = field(default_factory=dict)
    #: Chats whose bot rights were read from Telegram since this process started.
    _rights_read: set[int] = field(default_factory=set)
    #: chat id -> (settings, until when they are trusted); this process's own changes replace
    #: them at once (``remember``), other processes' are seen within CHAT_CACHE_SECONDS.
    _chats: dict[int, tuple[ChatSettings, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.chats = TelegramChats(self.runtime.engine)
        self.inbox = TelegramInbox(self.runtime.engine)

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking storage call in a thread (the event loop keeps serving)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def scan(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a scan on one of the ``config.workers`` scan threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.scans, functools.partial(fn, *args, **kwargs))

    async def audit(
        self, event: str, subject: str, payload: Mapping[str, Any], actor: str = BOT_ACTOR
    ) -> None:
        await self.db(self.runtime.audit.append, [NewAuditEvent(actor, event, subject, payload)])

    async def record(
        self,
        record: MessageRecord,
        step: str,
        result: Any,
        event: str,
        payload: Mapping[str, Any],
        actor: str = BOT_ACTOR,
        *,
        review_id: int | None = None,
        finished: bool = False,
    ) -> MessageRecord:
        """Record a step of the message and its audit event in one transaction, so that a
        crash leaves both or neither."""
        entry = NewAuditEvent(actor, event, audit_subject(record), payload)
        return await self.db(
            self.inbox.step,
            record.id,
            step,
            result,
            review_id=review_id,
            finished=finished,
            audit=self.runtime.audit,
            event=entry,
        )

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Whether the user is an owner or administrator of the chat (cached a minute)."""
        now = time.monotonic()
        cached = self._admins.get((chat_id, user_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            member = await self.bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as exc:
            log.info("admin check of %s in %s failed: %s", user_id, chat_id, exc)
            return False
        admin = member.status in ("creator", "administrator")
        self._admins[(chat_id, user_id)] = (admin, now + ADMIN_CACHE_SECONDS)
        return admin

    async def sender_is_admin(self, message: Message) -> bool:
        """Admins, including an anonymous admin posting as the group itself."""
        if message.sender_chat is not None:
            return message.sender_chat.id == message.chat.id
        if message.from_user is None:
            return False
        return await self.is_admin(message.chat.id, message.from_user.id)

    async def send(
        self,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        silent: bool = False,
        reply_to: int | None = None,
    ) -> int | str:
        """Post a message; its id, or "failed: <why>". Never raises for Telegram's refusals:
        an update whose reply failed must not be handled again (its effects would repeat)."""
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        try:
            sent = await self.bot.send_message(
                chat_id,
                text,
                reply_markup=markup,
                disable_notification=silent,
                reply_parameters=reply if reply_to is not None else None,
            )
        except TelegramAPIError as exc:
            log.warning("could not post to %s: %s", chat_id, exc)
            return f"failed: {exc.message}"[:300]
        return sent.message_id

    async def reply(self, message: Message, text: str) -> None:
        await self.send(message.chat.id, text, reply_to=message.message_id)

    async def delete_quietly(self, chat: ChatSettings, message_id: int) -> None:
        """Tidy up (a command that repeats an advert's link, a /report): best effort."""
        if chat.can_delete:
            with contextlib.suppress(TelegramAPIError):
                await self.bot.delete_message(chat.chat_id, message_id)

    def review_chat(self, chat: ChatSettings) -> int | None:
        return chat.review_chat_id or self.config.review_chat_id

    async def chat_of(self, message: Message) -> ChatSettings:
        """The group's settings; a group seen for the first time gets the operator's defaults.
        The bot's own rights there are read once per process (and after a refused action)."""
        cached = self._chats.get(message.chat.id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        chat = await self.ensure_chat(message.chat)
        if chat.chat_id not in self._rights_read:
            chat = await self.refresh_rights(chat.chat_id) or chat
        return self.remember(chat)

    async def ensure_chat(self, chat: Chat) -> ChatSettings:
        """The group's stored settings; a group seen for the first time gets the operator's
        defaults (mode, restrict_after)."""
        return await self.db(
            self.chats.ensure,
            chat.id,
            chat.title or str(chat.id),
            self.config.default_mode,
            self.config.restrict_after,
        )

    def remember(self, chat: ChatSettings) -> ChatSettings:
        """The newest settings of a chat (after a change made here)."""
        self._chats[chat.chat_id] = (chat, time.monotonic() + CHAT_CACHE_SECONDS)
        return chat

    async def refresh_rights(self, chat_id: int) -> ChatSettings | None:
        """Read the bot's rights in the chat from Telegram (None: Telegram would not say)."""
        try:
            member = await self.bot.get_chat_member(chat_id, self.me_id)
        except TelegramAPIError as exc:
            self._rights_read.add(chat_id)
            log.info("could not read the bot's rights in %s: %s", chat_id, exc)
            return None
        return await self.store_rights(chat_id, member)

    async def store_rights(self, chat_id: int, member: ResultChatMemberUnion) -> ChatSettings:
        """Keep what Telegram says of the bot's standing in the chat (a read, or an update)."""
        self._rights_read.add(chat_id)
        return self.remember(
            await self.db(
                self.chats.set_bot_rights,
                chat_id,
                member.status,
                bool(getattr(member, "can_delete_messages", False)),
                bool(getattr(member, "can_restrict_members", False)),
            )
        )


async def answer(callback: CallbackQuery, text: str, alert: bool = False) -> None:
    """Answer a button press; a press too old to answer is not an error worth retrying."""
    try:
        await callback.answer(text, show_alert=alert)
    except TelegramAPIError as exc:
        log.info("could not answer a button press: %s", exc)


def sender_of(message: Message) -> tuple[int | None, str]:
    """The sending user's id (None for a channel or anonymous admin) and how admins see them."""
    if message.sender_chat is not None:
        chat = message.sender_chat
        return None, f"@{chat.username}" if chat.username else (chat.title or str(chat.id))
    user = message.from_user
    if user is None:
        return None, "unknown sender"
    name = user.full_name + (f" (@{user.username})" if user.username else "")
    return (None if user.id in SERVICE_USERS else user.id), f"{name} [id {user.id}]"


def audit_subject(record: MessageRecord) -> str:
    """The audit subject: the scan's id, so the decision and what was done share one subject."""
    return record.scan_id or f"telegram:{record.chat_id}:{record.message_id}"


def audit_facts(record: MessageRecord, **extra: Any) -> dict[str, Any]:
    """What the audit log keeps of a Telegram action: ids and the matched banks, never content."""
    return {
        "chat_id": record.chat_id,
        "message_id": record.message_id,
        "sender_id": record.sender_id,
        "verdict": record.verdict,
        "banks": sorted({str(r["bank"]) for r in record.reasons if r.get("bank")}),
        "reasons": sorted({str(r.get("code")) for r in record.reasons}),
        **extra,
    }
