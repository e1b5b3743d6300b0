"""Matcher: the in-memory indexes of every bank, built from storage and kept current.

Each bank has a PdqIndex (exact range search at the bank's own threshold), exact dictionaries for
MD5 and SHA-256, when it holds region signatures (``source`` banks) a KeypointIndex for
derived-fake search (engine.derived) at the bank's region threshold, and when it holds text
patterns (``text`` banks) a TextIndex. A bank with a scope is matched only by queries made with
that scope (one group's allow list must not allow anything elsewhere). The Curator tells the
Matcher about every change it commits, so an added or withdrawn entry affects the very next
match; a new process builds everything from storage.

A readers-writer lock guards the indexes: many threads match at once (FAISS searches are
read-only), while a bank change waits for them and runs alone (FAISS is not safe for a search
during an add, and a compaction swaps layers). Matching holds it for the lookup only (~0.3 ms at
1M codes; tens of ms when derived-fake search runs); hashing happens outside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from shieldwall.domain import (
    Bank,
    Entry,
    EntryStatus,
    InvalidHashError,
    Match,
    RegionEvidence,
    ShieldwallError,
    SignalType,
    TextKind,
    pdq_matchable,
)
from shieldwall.engine.derived import find_derived
from shieldwall.engine.rwlock import ReadWriteLock
from shieldwall.index import (
    CodeArray,
    IdArray,
    KeypointIndex,
    PdqIndex,
    TextIndex,
    TextKey,
    codes_from_hex,
)
from shieldwall.signals import (
    ImageSignals,
    QueryFeatures,
    RegionSignature,
    TextQuery,
    parse_pattern,
)
from shieldwall.storage import BankStore, StoredSignal


@dataclass(frozen=True, slots=True)
class QueryHashes:
    """What a query looks up: PDQ hashes (with their form: original, flip, ...), digests, the
    query's keypoints when it was hashed for derived-fake search, and text (a caption, a
    message) for text banks."""

    pdq: Sequence[tuple[str, str]] = ()
    md5: str | None = None
    sha256: str | None = None
    features: QueryFeatures | None = None
    text: TextQuery | None = None

    @classmethod
    def of(cls, signals: ImageSignals, text: TextQuery | None = None) -> QueryHashes:
        usable = [(form, h.hex) for form, h in signals.query_pdq() if pdq_matchable(h.quality)]
        return cls(usable, signals.md5, signals.sha256, signals.features, text)


@dataclass
class _BankIndex:
    bank: Bank
    pdq: PdqIndex = field(default_factory=PdqIndex)
    exact: dict[SignalType, dict[str, set[int]]] = field(
        default_factory=lambda: {
            SignalType.MD5: defaultdict(set),
            SignalType.SHA256: defaultdict(set),
        }
    )
    keypoints: KeypointIndex = field(default_factory=KeypointIndex)
    signatures: dict[int, RegionSignature] = field(default_factory=dict)
    text: TextIndex = field(default_factory=TextIndex)
    #: Stored region signatures or text patterns that could not be read (left out, not fatal).
    unreadable: int = 0

    @classmethod
    def build(cls, bank: Bank, signals: Iterable[StoredSignal]) -> _BankIndex:
        """Bulk build (start-up): the PDQ codes go straight into a static index."""
        index = cls(bank)
        ids, codes = index._split(signals)
        index.pdq = PdqIndex.build(ids, codes)
        return index

    def add(self, signals: Iterable[StoredSignal]) -> None:
        ids, codes = self._split(signals)
        if len(ids):
            self.pdq.add(ids, codes)

    def _split(self, signals: Iterable[StoredSignal]) -> tuple[IdArray, CodeArray]:
        """File exact digests into their tables; return the matchable PDQ (ids, codes)."""
        ids: list[int] = []
        hexes: list[str] = []
        regions: list[tuple[int, RegionSignature]] = []
        texts: list[TextKey] = []
        for signal in signals:
            if signal.signal is SignalType.PDQ:
                if pdq_matchable(signal.quality):
                    ids.append(signal.entry_id)
                    hexes.append(signal.value)
            elif signal.signal is SignalType.REGION:
                try:
                    signature = RegionSignature.from_bytes(signal.payload or b"")
                except InvalidHashError:
                    self.unreadable += 1
                    continue
                regions.append((signal.entry_id, signature))
            elif signal.signal is SignalType.TEXT:
                try:
                    pattern = parse_pattern(signal.value, TextKind(signal.variant))
                except (ValueError, ShieldwallError):
                    self.unreadable += 1
                    continue
                texts.append(TextKey(signal.entry_id, pattern.words, pattern.squashed))
            else:
                self.exact[signal.signal][signal.value].add(signal.entry_id)
        if regions:
            self.signatures.update(regions)
            self.keypoints.add((entry_id, sig.descriptors) for entry_id, sig in regions)
        if texts:
            self.text.add(texts)
        return np.array(ids, dtype=np.int64), codes_from_hex(hexes)

    def remove(self, entries: Sequence[Entry]) -> None:
        self.pdq.remove(entry.id for entry in entries)
        self.keypoints.remove(entry.id for entry in entries)
        self.text.remove(entry.id for entry in entries)
        for entry in entries:
            self.signatures.pop(entry.id, None)
        for entry in entries:
            for signal in entry.signals:
                owners = self.exact.get(signal.signal, {}).get(signal.value)
                if owners is not None:
                    owners.discard(entry.id)
                    if not owners:
                        del self.exact[signal.signal][signal.value]

    def match(self, query: QueryHashes) -> list[Match]:
        found: dict[tuple[int, SignalType], int] = {}
        if query.pdq:
            codes = codes_from_hex([value for _, value in query.pdq])
            for entry_id, distance in self.pdq.search(codes, self.bank.pdq_threshold).items():
                found[(entry_id, SignalType.PDQ)] = distance
        for signal, value in ((SignalType.MD5, query.md5), (SignalType.SHA256, query.sha256)):
            if value is not None:
                for entry_id in self.exact[signal].get(value, ()):
                    found[(entry_id, signal)] = 0
        if query.text is not None and len(self.text):
            for entry_id in self.text.search(query.text.words, query.text.squashed):
                found[(entry_id, SignalType.TEXT)] = 0
        matches = [
            Match(self.bank.name, self.bank.kind, entry_id, signal, distance)
            for (entry_id, signal), distance in sorted(found.items())
        ]
        if query.features is not None and self.signatures:
            threshold = self.bank.region_threshold
            for candidate in find_derived(
                self.keypoints, self.signatures, query.features, threshold
            ):
                fit, layout = candidate.fit, candidate.layout
                evidence = RegionEvidence(
                    fit.score,
                    round(fit.scale, 3),
                    round(fit.rotation_degrees, 2),
                    layout.changed_box,
                    round(layout.changed_share, 3),
                )
                matches.append(
                    Match(
                        self.bank.name,
                        self.bank.kind,
                        candidate.entry_id,
                        SignalType.REGION,
                        0,
                        evidence,
                    )
                )
        return matches


class Matcher:
    def __init__(self, store: BankStore) -> None:
        self._store = store
        self._banks: dict[str, _BankIndex] = {}
        self._lock = ReadWriteLock()

    def load(self) -> None:
        """Build every bank's index from storage (start-up)."""
        banks = {
            bank.name: _BankIndex.build(bank, self._store.active_signals(bank.id))
            for bank in self._store.list_banks()
        }
        with self._lock.writing():
            self._banks = banks

    def match(self, query: QueryHashes, scope: str | None = None) -> list[Match]:
        """Every match in every enabled bank that applies to ``scope`` (unscoped banks, and
        those with this scope), PDQ compared at each bank's own threshold."""
        matches: list[Match] = []
        with self._lock.reading():
            for index in self._banks.values():
                bank = index.bank
                if bank.enabled and (bank.scope is None or bank.scope == scope):
                    matches.extend(index.match(query))
        return matches

    # -- change notifications from the Curator (after the change is committed) -------------------

    def bank_changed(self, bank: Bank) -> None:
        with self._lock.writing():
            index = self._banks.get(bank.name)
            if index is None:
                self._banks[bank.name] = _BankIndex(bank)
            else:
                index.bank = bank

    def entries_added(self, bank: Bank, entries: Iterable[Entry]) -> None:
        signals = [
            StoredSignal(entry.id, s.signal, s.value, s.quality, s.payload, s.variant)
            for entry in entries
            if entry.status is EntryStatus.ACTIVE
            for s in entry.signals
        ]
        with self._lock.writing():
            self._banks.setdefault(bank.name, _BankIndex(bank)).add(signals)

    def entries_removed(self, bank: Bank, entries: Iterable[Entry]) -> None:
        entries = list(entries)
        with self._lock.writing():
            index = self._banks.get(bank.name)
            if index is not None:
                index.remove(entries)

    def wants_features(self) -> bool:
        """Whether any enabled bank holds region signatures, so queries need their keypoints."""
        with self._lock.reading():
            return any(i.bank.enabled and i.signatures for i in self._banks.values())

    def region_size(self, bank_name: str) -> int:
        """Region signatures indexed for the bank."""
        with self._lock.reading():
            index = self._banks.get(bank_name)
            return len(index.signatures) if index is not None else 0

    def bank_names(self) -> list[str]:
        with self._lock.reading():
            return list(self._banks)

    def text_size(self, bank_name: str) -> int:
        """Text patterns indexed for the bank."""
        with self._lock.reading():
            index = self._banks.get(bank_name)
            return len(index.text) if index is not None else 0

    def unreadable(self) -> int:
        """Stored region signatures or text patterns that could not be parsed (left out)."""
        with self._lock.reading():
            return sum(index.unreadable for index in self._banks.values())

    def size(self, bank_name: str) -> int:
        """Live PDQ codes indexed for the bank."""
        with self._lock.reading():
            index = self._banks.get(bank_name)
            return len(index.pdq) if index is not None else 0
