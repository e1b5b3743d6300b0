"""Persistence: banks, entries and signals (SQLAlchemy 2, Alembic). Imports domain only."""

from shieldwall.storage.bank_store import BankStore, StoredSignal
from shieldwall.storage.database import create_database_engine, migrate, normalise_url

__all__ = ["BankStore", "StoredSignal", "create_database_engine", "migrate", "normalise_url"]
