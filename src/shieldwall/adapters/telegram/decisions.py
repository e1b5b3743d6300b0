"""What people decide: an admin pressing Delete or Allow on a review card, and a member
reporting a message with /report.

Only admins of the group a message is in decide about it. Delete removes it as a block would
(counted against the sender; also in dry-run mode: an admin's own decision). Allow keeps it,
and puts the image's hashes (kept with the record only while its review is open) into the
group's own allow bank, so the same image is not flagged in that group again; other groups
are not affected (the bank has the group's scope).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message

from shieldwall.adapters.telegram import notices
from shieldwall.adapters.telegram.content import content_key, media_of, text_of
from shieldwall.adapters.telegram.context import (
    BotContext,
    answer,
    audit_facts,
    audit_subject,
    sender_of,
)
from shieldwall.adapters.telegram.moderation import GroupModerator, gone
from shieldwall.adapters.telegram.reviews import ALLOW, DELETE, ReviewDesk
from shieldwall.domain import (
    BankKind,
    ChatSettings,
    EntrySignal,
    NewAuditEvent,
    ShieldwallError,
    SignalType,
)
from shieldwall.storage import MessageRecord
from shieldwall.storage.telegram_inbox import FINISHED, RECEIVED

log = logging.getLogger(__name__)
#: Reports one member may make in REPORT_WINDOW seconds.
REPORTS_PER_WINDOW, REPORT_WINDOW = 5, 600.0


def allow_bank_name(chat_id: int) -> str:
    return f"tg{chat_id}-allow"


class Decisions:
    def __init__(self, ctx: BotContext, moderator: GroupModerator, desk: ReviewDesk) -> None:
        self.ctx, self.moderator, self.desk = ctx, moderator, desk
        self._reports: dict[tuple[int, int], deque[float]] = {}

    async def on_button(self, callback: CallbackQuery) -> None:
        action, _, raw_id = (callback.data or "").removeprefix("sw:").partition(":")
        record = await self.ctx.db(self.ctx.inbox.get, int(raw_id)) if raw_id.isdigit() else None
        chat = await self.ctx.db(self.ctx.chats.get, record.chat_id) if record else None
        if record is None or chat is None or action not in (DELETE, ALLOW):
            await answer(callback, "This item is no longer known.", alert=True)
            return
        user = callback.from_user
        if not await self.ctx.is_admin(chat.chat_id, user.id):
            await answer(callback, f"Only admins of {chat.title} decide this.", alert=True)
            return
        if "decision" in record.steps:
            await answer(callback, f"Already decided: {record.steps['decision']['outcome']}.")
            return
        actor = f"telegram:user:{user.id}"
        if action == DELETE:
            removed = gone(await self.moderator.remove(chat, record, actor))
            outcome, review = ("Deleted" if removed else "Delete failed"), "blocked"
        else:
            await self._allow(chat, record, actor)
            outcome, review = "Allowed", "allowed"
        await self.ctx.db(
            self.ctx.inbox.step,
            record.id,
            "decision",
            {"outcome": outcome, "by": user.id},
            forget_hashes=True,
        )
        await self._close_review(record, review, actor)
        if isinstance(callback.message, Message):
            text = notices.decided(callback.message.html_text, outcome, user.full_name)
            try:
                await callback.message.edit_text(text, reply_markup=None)
            except TelegramAPIError as exc:
                log.info("could not update the review card: %s", exc)
        await answer(callback, outcome)

    async def _allow(self, chat: ChatSettings, record: MessageRecord, actor: str) -> None:
        hashes = record.hashes or {}
        signals = [
            EntrySignal(signal, str(hashes[signal.value]), "original", _quality(signal, hashes))
            for signal in (SignalType.PDQ, SignalType.MD5, SignalType.SHA256)
            if hashes.get(signal.value)
        ]
        if signals:
            curator = self.ctx.runtime.curator
            name = allow_bank_name(chat.chat_id)
            await self.ctx.db(curator.ensure_bank, name, BankKind.ALLOW, chat.scope, actor=actor)
            note = f"allowed on review of message {record.message_id} in chat {chat.chat_id}"
            await self.ctx.db(curator.add_signals, name, signals, actor, note)
        await self.ctx.audit(
            "telegram.allowed", audit_subject(record), audit_facts(record), actor=actor
        )

    async def _close_review(self, record: MessageRecord, outcome: str, actor: str) -> None:
        if record.review_id is None:
            return
        try:
            item = await self.ctx.db(
                self.ctx.runtime.reviews.decide, record.review_id, outcome, actor
            )
        except ShieldwallError:  # decided already (through the API)
            return
        event = NewAuditEvent(
            actor, "review.decided", item.scan_id, {"review_id": item.id, "outcome": item.status}
        )
        await self.ctx.db(self.ctx.runtime.audit.append, [event])

    async def report(self, message: Message, update_id: int) -> None:
        """/report as a reply: the message goes to review (or is removed, if it should be)."""
        target = message.reply_to_message
        if target is None or target.chat.id != message.chat.id:
            await self.ctx.reply(message, "Reply /report to the message that should not be here.")
            return
        chat = await self.ctx.chat_of(message)
        _, reporter = sender_of(message)
        if not self._may_report(chat.chat_id, message):
            await self.ctx.reply(
                message, "Thank you; you have reported a lot just now. Admins are told."
            )
            return
        media, text = media_of(target), text_of(target)
        sender_id, sender = sender_of(target)
        key = "report:" + content_key(media, text)
        record = await self.ctx.db(
            self.ctx.inbox.claim, chat.chat_id, target.message_id, key, update_id, sender_id
        )
        if record.state != FINISHED:
            if record.state == RECEIVED:
                why = [{"code": "reported", "message": f"reported by {reporter}"}]
                record = await self.moderator.decide(chat, target, record, media, text, why)
                await self.ctx.audit(
                    "telegram.reported",
                    audit_subject(record),
                    audit_facts(record, reporter_id=message.from_user and message.from_user.id),
                )
            if record.verdict == "block":
                await self.moderator.act(chat, record, target)
            else:
                await self.desk.open(chat, record, sender, reported_by=reporter)
        await self.ctx.send(chat.chat_id, "Thank you: the admins have been told.", silent=True)
        await self.ctx.delete_quietly(chat, message.message_id)

    def _may_report(self, chat_id: int, message: Message) -> bool:
        user = message.from_user.id if message.from_user else 0
        now = time.monotonic()
        recent = self._reports.setdefault((chat_id, user), deque())
        while recent and now - recent[0] > REPORT_WINDOW:
            recent.popleft()
        if len(recent) >= REPORTS_PER_WINDOW:
            return False
        recent.append(now)
        return True


def _quality(signal: SignalType, hashes: dict[str, Any]) -> int | None:
    if signal is SignalType.PDQ and isinstance(hashes.get("pdq_quality"), int):
        return int(hashes["pdq_quality"])
    return None
