"""Tables. Hashes and metadata only: no column holds image bytes (``payload`` holds a region
signature: keypoint descriptors and a coarse tile layout, never pixels).

Changes to these tables go through an Alembic migration in ``storage/migrations/versions``; a test
checks that the migrations and these declarations agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class BankRow(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    pdq_threshold: Mapped[int] = mapped_column(Integer)
    region_threshold: Mapped[int] = mapped_column(Integer, server_default="16")
    origin: Mapped[str] = mapped_column(String(64), default="local")
    # None: applies to every scan; else only to scans made with this scope (one group's banks).
    scope: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    entries: Mapped[list[EntryRow]] = relationship(back_populates="bank")


class EntryRow(Base):
    __tablename__ = "bank_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    case_ref: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    bank: Mapped[BankRow] = relationship(back_populates="entries")
    signals: Mapped[list[SignalRow]] = relationship(
        back_populates="entry", order_by="SignalRow.id", cascade="all, delete-orphan"
    )


class SignalRow(Base):
    __tablename__ = "entry_signals"
    __table_args__ = (Index("ix_entry_signals_type_value", "signal_type", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("bank_entries.id", ondelete="CASCADE"), index=True
    )
    signal_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))
    variant: Mapped[str] = mapped_column(String(32))
    quality: Mapped[int | None] = mapped_column(Integer)
    # A signal too large for ``value`` (a region signature, ~9 KB); value is then its SHA-256.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)

    entry: Mapped[EntryRow] = relationship(back_populates="signals")


class AuditRow(Base):
    """One event of the append-only audit chain (see domain.audit). ``seq`` is assigned by the
    writer, so two processes appending at once collide on the key and one retries."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    payload: Mapped[str] = mapped_column(Text)
    payload_digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    # SHA-256 of the whole key: keys are 190 random bits, so a slow hash adds nothing.
    key_digest: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReviewRow(Base):
    """An item held for a moderator (the ``quarantine`` action). Never the content: the scan id,
    the source's own reference, and why."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))


class DeliveryRow(Base):
    """A webhook notification waiting to be sent or retried (an outbox: it survives restarts)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TelegramChatRow(Base):
    """A Telegram group the bot is in, and how its admins set it up."""

    __tablename__ = "telegram_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(256))
    mode: Mapped[str] = mapped_column(String(16))
    review_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    restrict_after: Mapped[int] = mapped_column(Integer)
    explicit: Mapped[str | None] = mapped_column(String(16))
    bot_status: Mapped[str] = mapped_column(String(16))
    can_delete: Mapped[bool] = mapped_column(Boolean)
    can_restrict: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TelegramUpdateRow(Base):
    """An update received from Telegram: kept (payload and all) until it is handled, so a crash
    loses nothing once Telegram was told it arrived; then kept without its payload for a while,
    so a redelivered update is recognised. The polling offset is the newest id + 1."""

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class TelegramMessageRow(Base):
    """What the bot decided and did about one content of one message (an edit that changes the
    media or text is a new content): each step is recorded as it completes, so a restart
    resumes where it stopped instead of acting twice. Never the content; the item's hashes
    only while a review of it is open (an "allow" puts them in the group's allow bank)."""

    __tablename__ = "telegram_messages"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", "content_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    content_key: Mapped[str] = mapped_column(String(64))
    update_id: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    scan_id: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[str | None] = mapped_column(Text)
    hashes: Mapped[str | None] = mapped_column(Text)
    review_id: Mapped[int | None] = mapped_column(Integer)
    steps: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TelegramStrikeRow(Base):
    """Blocked posts of one sender in one group (for restricting repeat senders)."""

    __tablename__ = "telegram_strikes"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    restricted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
