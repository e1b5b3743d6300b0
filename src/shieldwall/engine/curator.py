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
    HEX_LENGTH,
    Bank,
    BankExistsError,
    BankFileError,
    BankKind,
    BankNotFoundError,
    Entry,
    EntryExistsError,
    EntryNotFoundError,
    EntrySignal,
    EntryStatus,
    InvalidArgumentError,
    InvalidHashError,
    NewAuditEvent,
    NewEntry,
    ShieldwallError,
    SignalType,
    TextKind,
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
    TextPattern,
    compute_signals,
    parse_pattern,
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
        scope: str | None = None,
        actor: str = "local",
    ) -> Bank:
        bank = self._store.create_bank(
            name, kind, pdq_threshold, origin, region_threshold, scope=scope
        )
        self._matcher.bank_changed(bank)
        self._record(actor, "bank.created", bank, _settings(bank))
        return bank

    def ensure_bank(self, name: str, kind: BankKind, scope: str | None, *, actor: str) -> Bank:
        """The bank named ``name``, created (with ``kind`` and ``scope``) if there is none. An
        existing bank of another kind or scope is an error, never silently reused."""
        try:
            bank = self._store.get_bank(name)
        except BankNotFoundError:
            try:
                return self.create_bank(name, kind, scope=scope, actor=actor)
            except BankExistsError:  # created meanwhile by another caller
                bank = self._store.get_bank(name)
        if bank.kind is not kind or bank.scope != scope:
            raise InvalidArgumentError(
                f"bank {name!r} exists as kind {bank.kind.value}, scope {bank.scope}; "
                f"wanted kind {kind.value}, scope {scope}"
            )
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
        _refuse_text_bank(bank)
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
        # Quality unknown (None): the sender vouched for the hash, so it is matched.
        return self.add_signals(
            bank_name, [EntrySignal(signal, clean, "original", None)], added_by, note, case_ref
        )

    def add_signals(
        self,
        bank_name: str,
        signals: Sequence[EntrySignal],
        added_by: str,
        note: str | None = None,
        case_ref: str | None = None,
    ) -> Entry:
        """Bank hashes kept from an earlier scan (e.g. a moderator allowing a reviewed image:
        its PDQ and digests go to the community's allow bank) as one entry."""
        bank = self._store.get_bank(bank_name)
        _refuse_text_bank(bank)
        if not signals or any(s.signal not in HEX_LENGTH for s in signals):
            raise InvalidArgumentError("an entry needs hashes (pdq, md5, sha256)")
        clean = tuple(replace(s, value=normalise_hash(s.signal, s.value)) for s in signals)
        return self._add(bank, NewEntry(clean, added_by, note, case_ref))

    def add_text(
        self,
        bank_name: str,
        pattern: str,
        added_by: str,
        kind: TextKind | None = None,
        note: str | None = None,
    ) -> Entry:
        """Block a username, link or phrase in a ``text`` bank (``kind`` guessed when None).
        A pattern blocked already is refused (EntryExistsError); a withdrawn one is
        reinstated."""
        bank = self._store.get_bank(bank_name)
        if bank.kind is not BankKind.TEXT:
            raise InvalidArgumentError(f"bank {bank_name!r} is a {bank.kind.value} bank, not text")
        parsed = parse_pattern(pattern, kind)
        same = [e for e in self.text_entries(bank_name, active_only=False) if _same(e, parsed)]
        active = [e for e in same if e.status is EntryStatus.ACTIVE]
        if active:
            raise EntryExistsError(
                f"{parsed.text!r:.60} is blocked already (entry {active[0].id} of {bank_name!r})"
            )
        if same:
            return self.reinstate(bank_name, same[0].id, added_by)
        signal = EntrySignal(SignalType.TEXT, parsed.text, parsed.kind.value)
        return self._add(bank, NewEntry((signal,), added_by, note))

    def remove_text(self, bank_name: str, pattern: str, actor: str) -> list[Entry]:
        """Withdraw every active entry of the bank that blocks what ``pattern`` blocks."""
        parsed = parse_pattern(pattern, None)
        found = [e for e in self.text_entries(bank_name) if _same(e, parsed)]
        if not found:
            raise EntryNotFoundError(f"{parsed.text!r:.60} is not blocked in {bank_name!r}")
        return [self.withdraw(bank_name, e.id, actor) for e in found]

    def text_entries(self, bank_name: str, *, active_only: bool = True) -> list[Entry]:
        return [
            e
            for e in self._store.iter_entries(bank_name)
            if e.status is EntryStatus.ACTIVE or not active_only
        ]

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
        texts = bank.kind is BankKind.TEXT
        for number, entry in enumerate(entries, start=1):
            for signal in entry.signals:
                if (signal.signal is SignalType.TEXT) is not texts:
                    raise BankFileError(
                        f"entry {number}: a {signal.signal.value} signal cannot go into "
                        f"{bank.kind.value} bank {bank_name!r}"
                    )
                try:
                    if signal.signal is SignalType.REGION:
                        RegionSignature.from_bytes(signal.payload or b"")
                    elif signal.signal is SignalType.TEXT:
                        parse_pattern(signal.value, TextKind(signal.variant))
                except (InvalidHashError, InvalidArgumentError, ValueError) as exc:
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
        "scope": bank.scope,
    }


def _refuse_text_bank(bank: Bank) -> None:
    if bank.kind is BankKind.TEXT:
        raise InvalidArgumentError(
            f"bank {bank.name!r} holds text patterns, not image hashes: add text to it"
        )


def _same(entry: Entry, pattern: TextPattern) -> bool:
    """Whether the entry's pattern blocks what ``pattern`` blocks."""
    for s in entry.signals:
        if s.signal is SignalType.TEXT:
            try:
                if parse_pattern(s.value, TextKind(s.variant)).identity == pattern.identity:
                    return True
            except (ValueError, ShieldwallError):
                continue
    return False


def _identity(signals: Sequence[EntrySignal]) -> tuple[SignalType, str]:
    """The signal that identifies an entry across instances: its strongest original hash."""
    originals = [s for s in signals if s.variant == "original"] or list(signals)
    for preferred in (SignalType.SHA256, SignalType.MD5, SignalType.PDQ):
        for s in originals:
            if s.signal is preferred:
                return s.signal, s.value
    return originals[0].signal, originals[0].value
