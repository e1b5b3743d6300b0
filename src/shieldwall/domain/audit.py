"""The audit chain: each event carries the hash of the one before it, so editing, removing or
reordering any stored event breaks every hash after it. Pure functions; storage appends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 kept. What digests are taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class NewAuditEvent:
    """What a caller records: who did what to which subject, with details."""

    actor: str
    event: str
    subject: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    event: str
    subject: str
    payload: Mapping[str, Any]
    payload_digest: str
    prev_hash: str
    hash: str


def event_hash(
    seq: int,
    at: datetime,
    actor: str,
    event: str,
    subject: str,
    digest: str,
    prev_hash: str,
) -> str:
    """SHA-256 over the event's fields and the previous event's hash."""
    fields = [seq, _timestamp(at), actor, event, subject, digest, prev_hash]
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def seal(new: NewAuditEvent, seq: int, at: datetime, prev_hash: str) -> AuditEvent:
    """The stored form of ``new`` as event number ``seq`` after an event hashed ``prev_hash``."""
    digest = payload_digest(new.payload)
    return AuditEvent(
        seq,
        at,
        new.actor,
        new.event,
        new.subject,
        new.payload,
        digest,
        prev_hash,
        event_hash(seq, at, new.actor, new.event, new.subject, digest, prev_hash),
    )


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first event at which the chain does not hold, and why."""

    seq: int
    problem: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    last_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(events: Iterable[AuditEvent]) -> ChainReport:
    """Walk the events in order of ``seq`` from the first; name the first one that breaks."""
    expected_seq, prev = 1, GENESIS_HASH
    checked = 0
    for e in events:
        problem = None
        if e.seq != expected_seq:
            problem = f"sequence number {e.seq} where {expected_seq} was expected (event missing)"
        elif e.prev_hash != prev:
            problem = "its previous-event hash does not match the event before it"
        elif payload_digest(e.payload) != e.payload_digest:
            problem = "its payload does not match its digest (payload edited)"
        elif (
            event_hash(e.seq, e.at, e.actor, e.event, e.subject, e.payload_digest, e.prev_hash)
            != e.hash
        ):
            problem = "its hash does not match its fields (event edited)"
        if problem is not None:
            return ChainReport(checked, prev, ChainBreak(e.seq, problem))
        checked += 1
        expected_seq, prev = e.seq + 1, e.hash
    return ChainReport(checked, prev, None)
