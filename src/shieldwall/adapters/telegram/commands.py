"""Commands, the bot's own membership, and private chats.

Anyone: /shieldwall_status (what the group is protected against, counts), /report as a reply,
/help. Admins: /policy, /shieldwall_set (mode, review chat, restrictions, explicit images),
/blocktext, /unblocktext, /blocklist (the group's own blocked links and phrases; the operator's
lists apply too). A command the bot does not take, or one a member may not use, is moderated
like any other message (an advert can start with a slash). In a private chat the bot explains
how a person protects herself, and never downloads what is sent to it.
"""

from __future__ import annotations

import time
from datetime import timedelta
from html import escape

from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberUpdated, Message

from shieldwall.adapters.telegram import notices
from shieldwall.adapters.telegram.context import BotContext
from shieldwall.adapters.telegram.decisions import Decisions
from shieldwall.adapters.telegram.moderation import GroupModerator
from shieldwall.adapters.telegram.reviews import ReviewDesk
from shieldwall.domain import (
    BankKind,
    ChatMode,
    ChatSettings,
    EntryStatus,
    ShieldwallError,
    Verdict,
)
from shieldwall.storage.clock import now_utc

#: Commands only a group's admins may use.
ADMIN_COMMANDS = frozenset({"policy", "shieldwall_set", "blocktext", "unblocktext", "blocklist"})
SET_USAGE = (
    "Usage: /shieldwall_set mode enforce|dry-run · review_chat &lt;chat id&gt;|off · "
    "restrict_after &lt;n&gt;|off · explicit allow|review|block|default"
)
#: Seconds between help texts to one person in private.
PRIVATE_HELP_SECONDS = 30.0


def text_bank_name(chat_id: int) -> str:
    return f"tg{chat_id}-text"


class Commands:
    def __init__(
        self,
        ctx: BotContext,
        moderator: GroupModerator,
        decisions: Decisions,
        desk: ReviewDesk,
    ) -> None:
        self.ctx, self.moderator, self.decisions, self.desk = ctx, moderator, decisions, desk
        self._helped: dict[int, float] = {}

    async def on_group_message(self, message: Message, update_id: int) -> None:
        """A message starting with "/". Commands of members are moderated as well (an advert
        can ride on one); an admin's are not (/blocktext repeats the link it blocks)."""
        name, args = self._parse(message.text or "")
        if name is None:
            await self.moderator.handle(message, update_id)
            return
        admin = await self.ctx.sender_is_admin(message)
        if name in ADMIN_COMMANDS and not admin:
            await self.ctx.reply(message, f"Only admins of this group can use /{name}.")
        else:
            await self._run(name, args, message, update_id)
        if not admin:
            await self.moderator.handle(message, update_id)

    async def _run(self, name: str, args: str, message: Message, update_id: int) -> None:
        chat = await self.ctx.chat_of(message)
        if name == "report":
            await self.decisions.report(message, update_id)
        elif name in ("start", "help"):
            await self.ctx.send(chat.chat_id, notices.welcome(chat))
        elif name == "shieldwall_status":
            await self.ctx.send(chat.chat_id, await self._status(chat))
        elif name == "policy":
            policy = self.ctx.runtime.moderator.policy.for_community(chat.explicit)
            await self.ctx.send(chat.chat_id, notices.policy(chat, policy))
        elif name == "shieldwall_set":
            await self.ctx.reply(message, await self._set(chat, message, args))
        else:
            await self._blocklist(chat, message, name, args)

    def _parse(self, text: str) -> tuple[str | None, str]:
        """The command this bot takes and its arguments, or None."""
        if not text.startswith("/"):
            return None, ""
        head, _, args = text.partition(" ")
        name, _, addressee = head[1:].partition("@")
        if addressee and addressee.lower() != self.ctx.me_username.lower():
            return None, ""
        known = ADMIN_COMMANDS | {"report", "start", "help", "shieldwall_status"}
        name = name.lower()
        return (name, args.strip()) if name in known else (None, "")

    async def _status(self, chat: ChatSettings) -> str:
        rt = self.ctx.runtime

        def gather() -> tuple[dict[str, int], dict[str, int], int]:
            banks: dict[str, int] = {}
            for bank in rt.store.list_banks():
                if bank.enabled and bank.scope in (None, chat.scope):
                    active = rt.store.count_entries(bank.name)[EntryStatus.ACTIVE]
                    banks[bank.kind.value] = banks.get(bank.kind.value, 0) + active
            since = now_utc() - timedelta(days=7)
            counts = self.ctx.inbox.verdict_counts(chat.chat_id, since)
            pending = rt.reviews.count_pending(f"telegram:{chat.chat_id}:")
            return banks, counts, pending

        banks, counts, pending = await self.ctx.db(gather)
        is_review = await self.desk.is_review_chat(chat.chat_id)
        return notices.status(chat, banks, counts, pending, is_review)

    async def _set(self, chat: ChatSettings, message: Message, args: str) -> str:
        key, _, value = args.partition(" ")
        value = value.strip().lower()
        update = self.ctx.chats.update
        try:
            if key == "mode" and value in {m.value for m in ChatMode}:
                chat = await self.ctx.db(update, chat.chat_id, mode=ChatMode(value))
            elif key == "restrict_after" and (value == "off" or value.isdigit()):
                after = 0 if value == "off" else int(value)
                chat = await self.ctx.db(update, chat.chat_id, restrict_after=after)
            elif key == "explicit" and value in {"allow", "review", "block", "default"}:
                verdict = None if value == "default" else Verdict(value)
                chat = await self.ctx.db(
                    update, chat.chat_id, explicit=verdict, clear_explicit=verdict is None
                )
            elif key == "review_chat" and value == "off":
                chat = await self.ctx.db(update, chat.chat_id, clear_review_chat=True)
                self.desk.forget()
            elif key == "review_chat" and value.lstrip("-").isdigit():
                problem = await self._check_review_chat(message, int(value))
                if problem:
                    return problem
                chat = await self.ctx.db(update, chat.chat_id, review_chat_id=int(value))
                self.desk.forget()
                await self.ctx.send(
                    int(value),
                    f"🛡 This chat now gets Shieldwall's reviews of <b>{escape(chat.title)}</b>.",
                )
            else:
                return SET_USAGE
        except ShieldwallError as exc:
            return escape(str(exc))
        self.ctx.remember(chat)
        await self.ctx.audit(
            "telegram.settings_changed",
            f"telegram:{chat.chat_id}",
            {"chat_id": chat.chat_id, "setting": key, "value": value},
            actor=_actor(message),
        )
        return f"Done: {key} is now {escape(value)}."

    async def _check_review_chat(self, message: Message, review_chat: int) -> str | None:
        if review_chat == message.chat.id:
            return "The review chat must be another chat (the admins' own)."
        try:
            bot = await self.ctx.bot.get_chat_member(review_chat, self.ctx.me_id)
        except TelegramAPIError:
            return "I am not in that chat: add me there first."
        if bot.status in ("left", "kicked"):
            return "I am not in that chat: add me there first."
        user = message.from_user
        if user is None or not await self.ctx.is_admin(review_chat, user.id):
            return "Only an admin of that chat can make it the review chat."
        return None

    async def _blocklist(self, chat: ChatSettings, message: Message, name: str, args: str) -> None:
        curator = self.ctx.runtime.curator
        bank = text_bank_name(chat.chat_id)
        if name == "blocklist":
            entries = await self.ctx.db(self._group_patterns, bank)
            lines = [f"{i} · {escape(kind)} · <code>{escape(p)}</code>" for i, kind, p in entries]
            text = f"Blocked in <b>{escape(chat.title)}</b>:\n" + ("\n".join(lines) or "(none)")
            target = self.ctx.review_chat(chat) or chat.chat_id
            await self.ctx.send(target, text)
            return
        if not args:
            await self.ctx.reply(message, f"Usage: /{name} @botname, a link or a phrase")
            return
        actor = _actor(message)
        try:
            if name == "blocktext":
                await self.ctx.db(curator.ensure_bank, bank, BankKind.TEXT, chat.scope, actor=actor)
                entry = await self.ctx.db(curator.add_text, bank, args, actor)
                reply = f"Blocked in this group ({entry.signals[0].variant}, entry {entry.id})."
            else:
                removed = await self.ctx.db(curator.remove_text, bank, args, actor)
                reply = f"Unblocked ({len(removed)} entries)."
        except ShieldwallError as exc:
            reply = escape(str(exc))
        await self.ctx.send(chat.chat_id, reply)
        await self.ctx.delete_quietly(chat, message.message_id)  # it repeats the advert's link

    def _group_patterns(self, bank: str) -> list[tuple[int, str, str]]:
        try:
            entries = self.ctx.runtime.curator.text_entries(bank)
        except ShieldwallError:
            return []
        return [(e.id, e.signals[0].variant, e.signals[0].value) for e in entries]

    async def private(self, message: Message) -> None:
        """Any private message: the help text (at most every 30 s unless asked for)."""
        user = message.from_user.id if message.from_user else 0
        asked = (message.text or "").startswith(("/start", "/help"))
        now = time.monotonic()
        if not asked and now - self._helped.get(user, float("-inf")) < PRIVATE_HELP_SECONDS:
            return
        self._helped[user] = now
        await self.ctx.send(message.chat.id, notices.PRIVATE_HELP)

    async def on_membership(self, event: ChatMemberUpdated) -> None:
        """The bot was added, promoted, demoted or removed."""
        member = event.new_chat_member
        if member.user.id != self.ctx.me_id or event.chat.type not in ("group", "supergroup"):
            return
        await self.ctx.ensure_chat(event.chat)
        chat = await self.ctx.store_rights(event.chat.id, member)
        await self.ctx.audit(
            "telegram.membership",
            f"telegram:{chat.chat_id}",
            {"chat_id": chat.chat_id, "status": member.status, "can_delete": chat.can_delete},
            actor=f"telegram:user:{event.from_user.id}",
        )
        joined = event.old_chat_member.status in ("left", "kicked")
        if joined and member.status in ("member", "administrator"):
            await self.ctx.send(chat.chat_id, notices.welcome(chat))


def _actor(message: Message) -> str:
    if message.sender_chat is not None:
        return f"telegram:chat:{message.sender_chat.id}"
    return f"telegram:user:{message.from_user.id if message.from_user else 0}"
