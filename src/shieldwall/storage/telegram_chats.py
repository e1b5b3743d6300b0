"""TelegramChats: the groups the bot is in, their admins' settings, and strikes per sender."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker

from shieldwall.domain import ChatMode, ChatSettings, InvalidArgumentError, Verdict
from shieldwall.storage.clock import as_utc, now_utc
from shieldwall.storage.schema import TelegramChatRow

#: Most blocked posts a restriction may wait for.
MAX_RESTRICT_AFTER = 100


def _settings(row: TelegramChatRow) -> ChatSettings:
    return ChatSettings(
        chat_id=row.chat_id,
        title=row.title,
        mode=ChatMode(row.mode),
        review_chat_id=row.review_chat_id,
        restrict_after=row.restrict_after,
        explicit=Verdict(row.explicit) if row.explicit else None,
        bot_status=row.bot_status,
        can_delete=row.can_delete,
        can_restrict=row.can_restrict,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


@dataclass(frozen=True, slots=True)
class Strike:
    """A sender's blocked posts in a group, and whether this one is due to restrict them."""

    count: int
    restrict: bool


def upsert(engine: Engine) -> Any:
    """The dialect's INSERT with ON CONFLICT (SQLite and PostgreSQL both have it)."""
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


class TelegramChats:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._insert = upsert(engine)

    def get(self, chat_id: int) -> ChatSettings | None:
        with self._sessions() as session:
            row = session.get(TelegramChatRow, chat_id)
            return _settings(row) if row is not None else None

    def ensure(
        self, chat_id: int, title: str, mode: ChatMode, restrict_after: int = 0
    ) -> ChatSettings:
        """The chat's settings; a chat seen for the first time gets ``mode`` (the operator's
        default for new groups) and ``restrict_after``."""
        now = now_utc()
        values = {
            "chat_id": chat_id,
            "title": title[:256],
            "mode": mode.value,
            "review_chat_id": None,
            "restrict_after": restrict_after,
            "explicit": None,
            "bot_status": "member",
            "can_delete": False,
            "can_restrict": False,
            "created_at": now,
            "updated_at": now,
        }
        with self._engine.begin() as connection:
            connection.execute(
                self._insert(TelegramChatRow).values(values).on_conflict_do_nothing()
            )
        found = self.get(chat_id)
        assert found is not None
        return found

    def update(
        self,
        chat_id: int,
        *,
        title: str | None = None,
        mode: ChatMode | None = None,
        review_chat_id: int | None = None,
        clear_review_chat: bool = False,
        restrict_after: int | None = None,
        explicit: Verdict | None = None,
        clear_explicit: bool = False,
    ) -> ChatSettings:
        if restrict_after is not None and not 0 <= restrict_after <= MAX_RESTRICT_AFTER:
            raise InvalidArgumentError(f"restrict_after is 0 (never) to {MAX_RESTRICT_AFTER}")
        with self._sessions.begin() as session:
            row = self._row(session, chat_id)
            if title is not None:
                row.title = title[:256]
            if mode is not None:
                row.mode = mode.value
            if review_chat_id is not None or clear_review_chat:
                row.review_chat_id = review_chat_id
            if restrict_after is not None:
                row.restrict_after = restrict_after
            if explicit is not None or clear_explicit:
                row.explicit = explicit.value if explicit else None
            row.updated_at = now_utc()
            return _settings(row)

    def set_bot_rights(
        self, chat_id: int, status: str, can_delete: bool, can_restrict: bool
    ) -> ChatSettings:
        with self._sessions.begin() as session:
            row = self._row(session, chat_id)
            row.bot_status, row.can_delete, row.can_restrict = status[:16], can_delete, can_restrict
            row.updated_at = now_utc()
            return _settings(row)

    def review_chats(self) -> set[int]:
        """Chats some group sends its reviews to."""
        with self._sessions() as session:
            found = session.scalars(
                select(TelegramChatRow.review_chat_id).where(
                    TelegramChatRow.review_chat_id.is_not(None)
                )
            )
            return {int(chat_id) for chat_id in found if chat_id is not None}

    @staticmethod
    def _row(session: Any, chat_id: int) -> TelegramChatRow:
        row: TelegramChatRow | None = session.get(TelegramChatRow, chat_id)
        if row is None:
            raise InvalidArgumentError(f"the bot does not know chat {chat_id}")
        return row
