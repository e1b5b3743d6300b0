"""Persistence: banks and entries, the audit chain, API keys, reviews, the webhook outbox and the
Telegram bot's groups, inbox and per-message record (SQLAlchemy 2, Alembic). Imports domain only."""

from shieldwall.storage.audit_store import AuditStore
from shieldwall.storage.bank_store import BankStore, StoredSignal
from shieldwall.storage.database import create_database_engine, migrate, normalise_url
from shieldwall.storage.key_store import KeyStore
from shieldwall.storage.outbox_store import Delivery, OutboxStore
from shieldwall.storage.review_store import ReviewItem, ReviewStore
from shieldwall.storage.telegram_chats import Strike, TelegramChats
from shieldwall.storage.telegram_inbox import MessageRecord, PendingUpdate, TelegramInbox

__all__ = [
    "AuditStore",
    "BankStore",
    "Delivery",
    "KeyStore",
    "MessageRecord",
    "OutboxStore",
    "PendingUpdate",
    "ReviewItem",
    "ReviewStore",
    "StoredSignal",
    "Strike",
    "TelegramChats",
    "TelegramInbox",
    "create_database_engine",
    "migrate",
    "normalise_url",
]
