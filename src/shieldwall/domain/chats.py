"""Communities a chat adapter protects (a Telegram group): how each is moderated."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shieldwall.domain.verdicts import Verdict


class ChatMode(enum.StrEnum):
    """ENFORCE deletes what is blocked; DRY_RUN deletes nothing and tells the admins' review chat
    what would have been done and why (how admins come to trust a bot before it deletes)."""

    ENFORCE = "enforce"
    DRY_RUN = "dry-run"


@dataclass(frozen=True, slots=True)
class ChatSettings:
    chat_id: int
    title: str
    mode: ChatMode
    #: Where review items, dry-run reports and failures go (the admins' own chat); None: the
    #: review queue of the API only.
    review_chat_id: int | None
    #: Restrict a sender after this many blocked posts; 0 never.
    restrict_after: int
    #: What an explicit image matching no bank gets here; None: the service policy's choice.
    explicit: Verdict | None
    #: The bot's own standing in the chat, as Telegram last told it.
    bot_status: str
    can_delete: bool
    can_restrict: bool
    created_at: datetime
    updated_at: datetime

    @property
    def scope(self) -> str:
        """The bank scope of this chat's own banks (its allow list, its blocked phrases)."""
        return chat_scope(self.chat_id)


def chat_scope(chat_id: int) -> str:
    return f"telegram:{chat_id}"
