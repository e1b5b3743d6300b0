"""Curator: every change to banks goes through here, so the Matcher hears of it at once.

The store commits first; only then is the in-memory index changed. A withdrawal therefore stops
matching before ``withdraw`` returns, and a crash between the two leaves storage right (the index
is rebuilt from storage at the next start). Every change is then written to the audit log (ids,
counts and settings; never hash values, which are sensitive for intimate images).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TextIO

from shieldwall.domain import (
    DEFAULT_PDQ_THRESHOLD,
    DEFAULT_REGION_THRESHOLD,
    Bank,
    BankFileError,
    BankKind,
    Entry,
    EntrySignal,
    EntryStatus,
    InvalidHashError,
    NewAuditEvent,
    NewEntry,
    SignalType,
    normalise_hash,
)
from shieldwall.engine.matcher import Matcher
from shieldwall.exchange import BankFileFormat, read_entries, write_entries
from shieldwall.media import DecodeLimits
from shieldwall.signals import (
    DEFAULT_WINDOWS,
    CropWindow,
    ImageSignals,
    RegionSignature,
    compute_signals,
)
from shieldwall.storage import AuditStore, BankStore


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    skipped: int  # already in the bank (import is idempotent)


class Curator:
    def __init__(
        self,
        store: BankStore,
        matcher: Matcher,
        limits: DecodeLimits | None = None,
        crop_windows: tuple[CropWindow, ...] = DEFAULT_WINDOWS,
        audit: AuditStore | None = None,
    ) -> None:
        self._audit = audit
        self._store = store
        self._matcher = matcher
        self._limits = limits or DecodeLimits()
        self._windows = crop_windows

    def create_bank(
        self,
        name: str,
        kind: BankKind = BankKind.KNOWN,
        pdq_threshold: int = DEFAULT_PDQ_THRESHOLD,
        origin: str = "local",
        region_threshold: int = DEFAULT_REGION_THRESHOLD,
        *,
        actor: str = "local",
    ) -> Bank:
        bank = self._store.create_bank(name, kind, pdq_threshold, origin, region_threshold)
        self._matcher.bank_changed(bank)
        self._record(actor, "bank.created", bank, _settings(bank))
        return bank

    def update_bank(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        pdq_threshold: int | None = None,
        region_threshold: int | None = None,
        actor: str = "local",
    ) -> Bank:
        bank = self._store.update_bank(
            name,
            enabled=enabled,
            pdq_threshold=pdq_threshold,
            region_threshold=region_threshold,
        )
        self._matcher.bank_changed(bank)
        self._record(actor, "bank.updated", bank, _settings(bank))
        return bank

    def hash_for_bank(self, data: bytes, kind: BankKind = BankKind.KNOWN) -> ImageSignals:
        """Signals stored for a banked image: digests, PDQ and its crop variants, and for a
        ``source`` bank the region signature (derived-fake detection)."""
        return compute_signals(
            data, self._limits, crops=self._windows, region=kind is BankKind.SOURCE
        )

    def add_image(
        self,
        bank_name: str,
        data: bytes,
        added_by: str,
        note: str | None = None,
        case_ref: str | None = None,
    ) -> Entry:
        """Hash the image (which is then dropped) and bank its signals as one entry."""
        bank = self._store.get_bank(bank_name)  # fail on an unknown bank before hashing
        signals = self.hash_for_bank(data, bank.kind)
        new = NewEntry(signals.entry_signals(), added_by, note, case_ref)
        return self._add(bank, new)

    def add_hash(
        self,
        bank_name: str,
        signal: SignalType,
        value: str,
        added_by: str,
        note: str | None = None,
        case_ref: str | None = None,
    ) -> Entry:
        """Bank a hash computed elsewhere (a victim's device, a partner's list)."""
        clean = normalise_hash(signal, value)
        bank = self._store.get_bank(bank_name)
        # Quality unknown (None): the sender vouched for the hash, so it is matched.
        new = NewEntry((EntrySignal(signal, clean, "original", None),), added_by, note, case_ref)
        return self._add(bank, new)

    def withdraw(self, bank_name: str, entry_id: int, actor: str = "local") -> Entry:
        """Stop an entry matching. Effective for every match that starts after this returns."""
        bank = self._store.get_bank(bank_name)
        entry = self._store.set_status(bank_name, entry_id, EntryStatus.WITHDRAWN)
        self._matcher.entries_removed(bank, [entry])
        self._record(actor, "entry.withdrawn", bank, {"entry_id": entry.id})
        return entry

    def reinstate(self, bank_name: str, entry_id: int, actor: str = "local") -> Entry:
        bank = self._store.get_bank(bank_name)
        entry = self._store.set_status(bank_name, entry_id, EntryStatus.ACTIVE)
        self._matcher.entries_removed(bank, [entry])  # never index an entry twice
        self._matcher.entries_added(bank, [entry])
        self._record(actor, "entry.reinstated", bank, {"entry_id": entry.id})
        return entry

    def export(
        self, bank_name: str, out: TextIO, fmt: BankFileFormat, *, variants: bool = True
    ) -> int:
        """Write the bank's entries; without ``variants`` only each entry's whole-image hashes
        (what a partner hashing whole images, e.g. a StopNCII-style list, can use: no crop
        variants, no region signatures)."""
        entries: Iterable[Entry] = self._store.iter_entries(bank_name)
        if not variants:
            entries = (
                replace(
                    e,
                    signals=tuple(
                        s
                        for s in e.signals
                        if s.variant == "original" and s.signal is not SignalType.REGION
                    ),
                )
                for e in entries
            )
        return write_entries(entries, out, fmt)

    def import_text(
        self, bank_name: str, text: str, fmt: BankFileFormat, added_by: str
    ) -> ImportResult:
        """Import a whole file or nothing. Entries whose original hashes the bank already holds
        are skipped, so importing the same file twice adds nothing the second time."""
        bank = self._store.get_bank(bank_name)
        entries = read_entries(text, fmt, added_by)
        for number, entry in enumerate(entries, start=1):
            for signal in entry.signals:
                if signal.signal is SignalType.REGION:
                    try:
                        RegionSignature.from_bytes(signal.payload or b"")
                    except InvalidHashError as exc:
                        raise BankFileError(f"entry {number}: {exc}") from None
        keys = [_identity(entry.signals) for entry in entries]
        seen: set[tuple[SignalType, str]] = {
            (signal, value)
            for signal in SignalType
            for value in self._store.existing_values(
                bank_name, signal, (v for s, v in keys if s is signal)
            )
        }
        fresh: list[NewEntry] = []
        for key, entry in zip(keys, entries, strict=True):
            if key not in seen:
                seen.add(key)
                fresh.append(entry)
        result = ImportResult(added=len(fresh), skipped=len(entries) - len(fresh))
        if fresh:
            stored = self._store_entries(bank, fresh)
            payload = {"added": result.added, "skipped": result.skipped}
            self._record(fresh[0].added_by, "bank.imported", bank, {**payload, **_ids(stored)})
        return result

    def _add(self, bank: Bank, new: NewEntry) -> Entry:
        [entry] = self._store_entries(bank, [new])
        signals = sorted({s.signal.value for s in entry.signals})
        self._record(new.added_by, "entry.added", bank, {**_ids([entry]), "signals": signals})
        return entry

    def _store_entries(self, bank: Bank, entries: Sequence[NewEntry]) -> list[Entry]:
        stored = self._store.add_entries(bank.name, entries)
        self._matcher.entries_added(bank, stored)
        return stored

    def _record(self, actor: str, event: str, bank: Bank, payload: dict[str, object]) -> None:
        if self._audit is not None:
            self._audit.append([NewAuditEvent(actor, event, f"bank:{bank.name}", payload)])


def _ids(entries: Sequence[Entry]) -> dict[str, object]:
    return {"entry_ids": [e.id for e in entries]}


def _settings(bank: Bank) -> dict[str, object]:
    return {
        "kind": bank.kind.value,
        "enabled": bank.enabled,
        "pdq_threshold": bank.pdq_threshold,
        "region_threshold": bank.region_threshold,
        "origin": bank.origin,
    }


def _identity(signals: Sequence[EntrySignal]) -> tuple[SignalType, str]:
    """The signal that identifies an entry across instances: its strongest original hash."""
    originals = [s for s in signals if s.variant == "original"] or list(signals)
    for preferred in (SignalType.SHA256, SignalType.MD5, SignalType.PDQ):
        for s in originals:
            if s.signal is preferred:
                return s.signal, s.value
    return originals[0].signal, originals[0].value
