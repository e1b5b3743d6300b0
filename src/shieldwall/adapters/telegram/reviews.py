"""The admins' review chat: review items, dry-run reports and failures posted there, each once
(recorded as a step of the message), and which chats are review chats (not moderated)."""

from __future__ import annotations

import time

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from shieldwall.adapters.telegram import notices
from shieldwall.adapters.telegram.context import BotContext, audit_facts, audit_subject
from shieldwall.domain import ChatSettings
from shieldwall.storage import MessageRecord

#: Audit event for each kind of post.
POSTED = {
    "review": "telegram.review_posted",
    "report": "telegram.reported_to_admins",
    "failure": "telegram.failure_reported",
}
#: Seconds between failure reports in a group itself (when it has no review chat).
GROUP_FAILURE_SECONDS = 3600.0
#: Seconds the set of review chats is trusted before it is read again.
REVIEW_CHATS_SECONDS = 30.0
#: Button actions in callback data "sw:<action>:<message record id>".
DELETE, ALLOW = "d", "a"


def buttons(record_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="🗑 Delete", callback_data=f"sw:{DELETE}:{record_id}"),
                InlineKeyboardButton(text="✅ Allow", callback_data=f"sw:{ALLOW}:{record_id}"),
            ]
        ]
    )


class ReviewDesk:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self._review_chats: tuple[float, frozenset[int]] = (float("-inf"), frozenset())
        self._group_failures: dict[int, float] = {}

    async def is_review_chat(self, chat_id: int) -> bool:
        """Whether a group uses this chat as its review chat (admins discuss flagged items
        there: it is not moderated)."""
        read_at, chats = self._review_chats
        if time.monotonic() - read_at > REVIEW_CHATS_SECONDS:
            found = await self.ctx.db(self.ctx.chats.review_chats)
            if self.ctx.config.review_chat_id is not None:
                found.add(self.ctx.config.review_chat_id)
            chats = frozenset(found)
            self._review_chats = (time.monotonic(), chats)
        return chat_id in chats

    def forget(self) -> None:
        """A group's review chat changed: read the set again next time."""
        self._review_chats = (float("-inf"), frozenset())

    async def post(
        self,
        chat: ChatSettings,
        record: MessageRecord,
        step: str,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        review_id: int | None = None,
        fallback_to_group: bool = False,
        finished: bool = False,
    ) -> MessageRecord:
        """Post ``text`` to the group's review chat once and record it as ``step``. Without a
        review chat, a failure may go to the group itself (at most once an hour)."""
        target = self.ctx.review_chat(chat)
        if target is None and fallback_to_group:
            last = self._group_failures.get(chat.chat_id, float("-inf"))
            if time.monotonic() - last > GROUP_FAILURE_SECONDS:
                self._group_failures[chat.chat_id] = time.monotonic()
                target = chat.chat_id
        if target is None:
            result: object = "no review chat: in the API's review queue only"
        else:
            sent = await self.ctx.send(target, text, markup)
            result = {"chat": target, "message": sent} if isinstance(sent, int) else sent
        facts = audit_facts(record, posted=result)
        return await self.ctx.record(
            record, step, result, POSTED[step], facts, review_id=review_id, finished=finished
        )

    async def open(
        self, chat: ChatSettings, record: MessageRecord, sender: str, reported_by: str | None = None
    ) -> MessageRecord:
        """Make the record a review item (the quarantine action opened one, or open it here)
        and post it with Delete and Allow buttons."""
        if "review" in record.steps:
            return record
        review_id = record.review_id
        if review_id is None:
            item = await self.ctx.db(
                self.ctx.runtime.reviews.open,
                audit_subject(record),
                f"telegram:{chat.chat_id}:{record.message_id}",
                "review",
                [{k: v for k, v in r.items() if k != "message"} for r in record.reasons],
            )
            review_id = item.id
        card = notices.review_card(
            chat, record.message_id, sender, record.reasons, reported_by=reported_by
        )
        markup = buttons(record.id)
        return await self.post(
            chat, record, "review", card, markup, review_id=review_id, finished=True
        )
