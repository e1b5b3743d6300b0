"""The storage contract, on SQLite and on PostgreSQL (skipped with a reason where absent)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from shieldwall.domain import (
    BankExistsError,
    BankKind,
    BankNotFoundError,
    EntryNotFoundError,
    EntrySignal,
    EntryStatus,
    InvalidArgumentError,
    NewEntry,
    SignalType,
)
from shieldwall.engine import Runtime
from shieldwall.storage import BankStore, migrate
from shieldwall.storage.schema import Base

PDQ = "f" * 64


def entry(value: str = PDQ, note: str | None = None) -> NewEntry:
    return NewEntry(
        (
            EntrySignal(SignalType.PDQ, value, "original", 100),
            EntrySignal(SignalType.MD5, "0" * 32),
        ),
        added_by="tester",
        note=note,
        case_ref="case-1",
    )


def test_bank_lifecycle(runtime: Runtime) -> None:
    store = runtime.store
    bank = store.create_bank("victims-1", BankKind.KNOWN, 25)
    assert (bank.name, bank.kind, bank.pdq_threshold, bank.enabled) == (
        "victims-1",
        BankKind.KNOWN,
        25,
        True,
    )
    assert bank.created_at.tzinfo is not None
    store.create_bank("allow", BankKind.ALLOW)
    assert [b.name for b in store.list_banks()] == ["allow", "victims-1"]
    updated = store.update_bank("victims-1", enabled=False, pdq_threshold=20)
    assert (updated.enabled, updated.pdq_threshold) == (False, 20)
    assert store.get_bank("victims-1").pdq_threshold == 20


def test_duplicate_and_unknown_banks(runtime: Runtime) -> None:
    runtime.store.create_bank("dup")
    with pytest.raises(BankExistsError, match="exists already"):
        runtime.store.create_bank("dup")
    with pytest.raises(BankNotFoundError, match="no bank named 'nope'"):
        runtime.store.get_bank("nope")
    with pytest.raises(BankNotFoundError):
        runtime.store.add_entries("nope", [entry()])


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "ä"])
def test_bad_bank_names(runtime: Runtime, name: str) -> None:
    with pytest.raises(InvalidArgumentError):
        runtime.store.create_bank(name)


@pytest.mark.parametrize("threshold", [-1, 64, 256])
def test_bad_thresholds(runtime: Runtime, threshold: int) -> None:
    with pytest.raises(InvalidArgumentError):
        runtime.store.create_bank("b", pdq_threshold=threshold)


def test_entries_round_trip_and_status(runtime: Runtime) -> None:
    store = runtime.store
    store.create_bank("b")
    added = store.add_entries("b", [entry(note="first"), entry("0" * 64)])
    assert [e.status for e in added] == [EntryStatus.ACTIVE] * 2
    fetched = store.get_entry("b", added[0].id)
    assert fetched.note == "first" and fetched.case_ref == "case-1" and fetched.added_by == "tester"
    assert fetched.signals[0] == EntrySignal(SignalType.PDQ, PDQ, "original", 100)
    store.set_status("b", added[0].id, EntryStatus.WITHDRAWN)
    assert [s.entry_id for s in store.active_signals(store.get_bank("b").id)] == [added[1].id] * 2
    assert store.count_entries("b")[EntryStatus.WITHDRAWN] == 1
    assert store.existing_values("b", SignalType.PDQ, [PDQ, "1" * 64, PDQ]) == {PDQ}
    assert store.existing_values("b", SignalType.MD5, []) == set()
    with pytest.raises(EntryNotFoundError):
        store.get_entry("b", 10_000)


def test_entry_of_another_bank_is_not_found(runtime: Runtime) -> None:
    runtime.store.create_bank("a")
    runtime.store.create_bank("b")
    (added,) = runtime.store.add_entries("a", [entry()])
    with pytest.raises(EntryNotFoundError):
        runtime.store.set_status("b", added.id, EntryStatus.WITHDRAWN)


def test_iter_entries_pages(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shieldwall.storage.bank_store.PAGE_SIZE", 3)
    runtime.store.create_bank("b")
    runtime.store.add_entries("b", [entry(f"{n:064x}") for n in range(8)])
    assert [e.signals[0].value for e in runtime.store.iter_entries("b")] == [
        f"{n:064x}" for n in range(8)
    ]


def test_migrations_match_declared_schema(runtime: Runtime) -> None:
    """Alembic's tables and columns are the ones schema.py declares; migrating twice is a no-op."""
    migrate(runtime.engine)
    inspector = inspect(runtime.engine)
    for table in Base.metadata.sorted_tables:
        actual = {c["name"] for c in inspector.get_columns(table.name)}
        assert actual == {c.name for c in table.columns}, table.name


def test_store_on_second_engine_sees_committed_data(runtime: Runtime) -> None:
    runtime.store.create_bank("shared")
    other = BankStore(runtime.engine)
    assert other.get_bank("shared").name == "shared"
