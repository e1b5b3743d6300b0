"""Moderating a group's messages: claim the content, scan it, act on the verdict.

Each content of a message (its image and text; an edit that changes them is a new content) is
claimed in the inbox before anything is done, and each step is recorded as it completes:
decided, deleted, counted against the sender, sender restricted, notice posted, review posted.
A restart (or Telegram delivering the update again) resumes after the last recorded step, so
nothing is lost and nothing is done twice. Between a call to Telegram and its record a crash
leaves the outcome unknown: a deletion (or a restriction) is then made again, which is harmless
(Telegram refuses to delete twice; restricting twice is one restriction); a group notice is not
sent again (at most once: a member never sees two); a card to the review chat is sent again
(at least once: admins must not miss an item, and a second card decides the same item).

Block, in ``enforce`` mode: delete, count a strike (restrict at the group's ``restrict_after``),
post a neutral notice (at most one per ``notice_seconds``; removals in between are counted into
the next one). In ``dry-run``: delete nothing; the review chat gets what would have been done and
why, with buttons for an admin to do it. Review: the review chat gets the item with Delete and
Allow buttons (reviews.py). A failed deletion is recorded and reported, never retried.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import ChatPermissions, Message

from shieldwall.actions import reason_record
from shieldwall.adapters.telegram import notices
from shieldwall.adapters.telegram.client import DownloadError, download
from shieldwall.adapters.telegram.content import MediaRef, content_key, media_of, text_of
from shieldwall.adapters.telegram.context import BotContext, audit_facts, sender_of
from shieldwall.adapters.telegram.reviews import ReviewDesk, buttons
from shieldwall.domain import ChatMode, ChatSettings, DecodeError
from shieldwall.engine import ScanDecision
from shieldwall.storage import AuditStore, MessageRecord
from shieldwall.storage.telegram_inbox import FINISHED, RECEIVED

log = logging.getLogger(__name__)
UNSCANNABLE = "unscannable"
#: A step begun and not known to have finished (the process stopped in between).
SENDING = "sending"
#: Telegram's answers to a deletion that mean the message is gone already.
GONE = ("message to delete not found",)
NO_RESTRICTIONS = ChatPermissions(
    **{name: False for name in ChatPermissions.model_fields if name.startswith("can_")}
)


class GroupModerator:
    def __init__(self, ctx: BotContext, desk: ReviewDesk) -> None:
        self.ctx = ctx
        self.desk = desk
        #: chat id -> (when the last notice went out, removals since then not yet told)
        self._notices: dict[int, tuple[float, int]] = {}

    async def handle(self, message: Message, update_id: int) -> None:
        """A new or edited message in a group."""
        if message.chat.type not in ("group", "supergroup"):
            return
        if message.from_user is not None and message.from_user.id == self.ctx.me_id:
            return
        media, text = media_of(message), text_of(message)
        if media is None and not text:
            return
        chat = await self.ctx.chat_of(message)
        if await self.desk.is_review_chat(chat.chat_id):
            return
        sender_id, _ = sender_of(message)
        key = content_key(media, text)
        record = await self.ctx.db(
            self.ctx.inbox.claim, chat.chat_id, message.message_id, key, update_id, sender_id
        )
        if record.state == FINISHED:
            return
        if record.state == RECEIVED:
            record = await self.decide(chat, message, record, media, text)
        await self.act(chat, record, message)

    # -- deciding --------------------------------------------------------------------------------

    async def decide(
        self,
        chat: ChatSettings,
        message: Message,
        record: MessageRecord,
        media: MediaRef | None,
        text: str,
        extra_reasons: Sequence[dict[str, Any]] = (),
    ) -> MessageRecord:
        """Scan the content and record the decision (the image is dropped when this returns).
        A record left undecided by a crash may have been decided all the same: then the audit
        log has the decision under the record's scan id, and it is taken from there."""
        if not record.new:
            found = await self.ctx.db(recorded_decision, self.ctx.runtime.audit, record)
            if found is not None:
                found["reasons"] = [*found["reasons"], *extra_reasons]
                return await self.ctx.db(self.ctx.inbox.decide, record.id, **found)
        moderator = self.ctx.runtime.moderator
        scan, scan_text = (
            functools.partial(
                fn,
                source=f"telegram:{chat.chat_id}",
                reference=f"{chat.chat_id}:{message.message_id}",
                scope=chat.scope,
                policy=moderator.policy.for_community(chat.explicit),
                scan_id=record.scan_id,
            )
            for fn in (moderator.scan, moderator.scan_text)
        )
        decision: ScanDecision | None = None
        problem: str | None = None
        if media is not None:
            try:
                limit = self.ctx.config.max_file_bytes
                data = await download(self.ctx.bot, media.file_id, limit, media.file_size)
                decision = await self.ctx.scan(scan, data, text=text or None)
                del data
            except DownloadError as exc:
                problem = f"could not download it ({exc})"
            except DecodeError as exc:
                problem = f"not a readable image ({exc.reason.value}: {exc.detail})"
        if decision is None and text:
            decision = await self.ctx.scan(scan_text, text)
        if decision is None:
            reasons = [{"code": UNSCANNABLE, "message": problem or "nothing to check"}]
            return await self.ctx.db(
                self.ctx.inbox.decide,
                record.id,
                scan_id=record.scan_id,
                verdict=UNSCANNABLE,
                reasons=[*reasons, *extra_reasons],
            )
        reasons = [{**reason_record(r), "message": r.message} for r in decision.decision.reasons]
        if problem:
            reasons.append({"code": UNSCANNABLE, "message": f"image {problem}"})
        hashes = dict(decision.signals) if media is not None and decision.signals else None
        review_id = next(
            (o.detail.get("review_id") for o in decision.outcomes if o.action == "quarantine"),
            None,
        )
        allowed = decision.verdict.value == "allow" and not extra_reasons
        return await self.ctx.db(
            self.ctx.inbox.decide,
            record.id,
            scan_id=decision.scan_id,
            verdict=decision.verdict.value,
            reasons=[*reasons, *extra_reasons],
            hashes=None if allowed else hashes,
            review_id=review_id,
            finished=allowed,
        )

    # -- acting ----------------------------------------------------------------------------------

    async def act(self, chat: ChatSettings, record: MessageRecord, message: Message) -> None:
        """Do what the verdict asks; the last step also marks the record finished."""
        if record.state == FINISHED:
            return
        _, sender = sender_of(message)
        if record.verdict == "block":
            if chat.mode is ChatMode.ENFORCE:
                record = await self.remove(chat, record)
            elif "report" not in record.steps:
                card = notices.dry_run_report(chat, record.message_id, sender, record.reasons)
                markup = buttons(record.id)
                record = await self.desk.post(chat, record, "report", card, markup, finished=True)
        elif record.verdict == "review":
            record = await self.desk.open(chat, record, sender)
        elif record.verdict == UNSCANNABLE and "report" not in record.steps:
            why = "; ".join(str(r.get("message")) for r in record.reasons)
            card = notices.unscannable(chat, record.message_id, why)
            record = await self.desk.post(chat, record, "report", card, None, finished=True)
        if record.state != FINISHED:
            await self.ctx.db(self.ctx.inbox.finish_message, record.id)

    async def remove(
        self, chat: ChatSettings, record: MessageRecord, actor: str = "telegram:bot"
    ) -> MessageRecord:
        """Delete the message, count it against its sender (restricting at the group's limit)
        and tell the group; the record as it then is (its "delete" step says whether the
        message is gone, see ``gone``)."""
        if "delete" not in record.steps:
            ok, result = await self._delete(chat.chat_id, record.message_id)
            event = "telegram.deleted" if ok else "telegram.delete_failed"
            facts = audit_facts(record, result=result)
            record = await self.ctx.record(record, "delete", result, event, facts, actor)
            if not ok:
                await self.ctx.refresh_rights(chat.chat_id)
                card = notices.action_failed(chat, record.message_id, "delete", result)
                await self.desk.post(chat, record, "failure", card, None, fallback_to_group=True)
        if not gone(record):
            return record
        if record.sender_id is not None and chat.restrict_after:
            record = await self._strike(chat, record, actor)
        if "notice" not in record.steps:
            untold = self._notice_due(chat.chat_id)
            step = self.ctx.inbox.step
            if untold is None:
                result = "counted into the next notice"
                return await self.ctx.db(step, record.id, "notice", result, finished=True)
            # At most once: a notice in flight when the process died is not sent again (the
            # group would see it twice); a deletion is safe to repeat (Telegram refuses the
            # second), so it is sent until its result is recorded.
            await self.ctx.db(step, record.id, "notice", SENDING)
            codes = [str(r.get("code")) for r in record.reasons]
            text = notices.removal_notice(codes, untold)
            sent = await self.ctx.send(chat.chat_id, text, silent=True)
            return await self.ctx.db(step, record.id, "notice", sent, finished=True)
        return record

    async def _delete(self, chat_id: int, message_id: int) -> tuple[bool, str]:
        try:
            await self.ctx.bot.delete_message(chat_id, message_id)
        except TelegramBadRequest as exc:
            if any(text in exc.message.lower() for text in GONE):
                return True, "gone"
            return False, exc.message[:300]
        except TelegramAPIError as exc:  # 403 (removed from the group), or retries ran out
            return False, f"{exc.__class__.__name__}: {exc.message}"[:300]
        return True, "done"

    async def _strike(self, chat: ChatSettings, record: MessageRecord, actor: str) -> MessageRecord:
        sender = record.sender_id
        assert sender is not None
        strike = await self.ctx.db(
            self.ctx.inbox.strike, record.id, chat.chat_id, sender, chat.restrict_after
        )
        if not strike.restrict or "restrict" in record.steps:
            return record
        if await self.ctx.is_admin(chat.chat_id, sender):
            result = "skipped: the sender is an admin"
        else:
            seconds = self.ctx.config.restrict_seconds
            try:
                await self.ctx.bot.restrict_chat_member(
                    chat.chat_id,
                    sender,
                    NO_RESTRICTIONS,
                    use_independent_chat_permissions=True,
                    until_date=timedelta(seconds=seconds) if seconds else None,
                )
                result = "done"
            except TelegramAPIError as exc:
                result = f"failed: {exc.message}"[:300]
        event = "telegram.restricted" if result == "done" else "telegram.restrict_failed"
        facts = audit_facts(record, strikes=strike.count, result=result)
        record = await self.ctx.record(record, "restrict", result, event, facts, actor)
        if result != "done":
            await self.ctx.db(self.ctx.inbox.unrestricted, chat.chat_id, sender)
        if result.startswith("failed"):
            card = notices.action_failed(chat, record.message_id, "restrict the sender of", result)
            record = await self.desk.post(chat, record, "failure", card, None)
        return record

    def _notice_due(self, chat_id: int) -> int | None:
        """How many removals the group is to be told of now, or None: it was told within
        ``notice_seconds``, and this one is counted into the next notice."""
        now = time.monotonic()
        last, untold = self._notices.get(chat_id, (float("-inf"), 0))
        if now - last < self.ctx.config.notice_seconds:
            self._notices[chat_id] = (last, untold + 1)
            return None
        self._notices[chat_id] = (now, 0)
        return untold + 1


def gone(record: MessageRecord) -> bool:
    """Whether the record's message was deleted (by the bot, or before it could)."""
    return record.steps.get("delete") in ("done", "gone")


def recorded_decision(audit: AuditStore, record: MessageRecord) -> dict[str, Any] | None:
    """The decision the audit log holds under the record's scan id, as ``decide`` arguments
    (None: there is none). Reason messages are not in the log; their codes stand in."""
    if record.scan_id is None:
        return None
    found: dict[str, Any] = {}
    for event in audit.for_subject(record.scan_id):
        if event.event == "scan.decided":
            found["verdict"] = event.payload["verdict"]
            found["reasons"] = [{**r, "message": r["code"]} for r in event.payload["reasons"]]
        elif event.event == "action.record" and event.payload.get("signals"):
            found["hashes"] = event.payload["signals"]
        elif event.event == "action.quarantine":
            found["review_id"] = event.payload.get("review_id")
    if "verdict" not in found:
        return None
    if found["verdict"] == "allow":
        found.pop("hashes", None)
    return {"scan_id": record.scan_id, **found}
