"""Persistence: banks and entries, the audit chain, API keys, reviews and the webhook outbox
(SQLAlchemy 2, Alembic). Imports domain only."""

from shieldwall.storage.audit_store import AuditStore
from shieldwall.storage.bank_store import BankStore, StoredSignal
from shieldwall.storage.database import create_database_engine, migrate, normalise_url
from shieldwall.storage.key_store import KeyStore
from shieldwall.storage.outbox_store import Delivery, OutboxStore
from shieldwall.storage.review_store import ReviewItem, ReviewStore

__all__ = [
    "AuditStore",
    "BankStore",
    "Delivery",
    "KeyStore",
    "OutboxStore",
    "ReviewItem",
    "ReviewStore",
    "StoredSignal",
    "create_database_engine",
    "migrate",
    "normalise_url",
]
