"""AuditStore: appends events to the hash chain and reads them back in order.

Appending writes the next events after the chain's head under one transaction. Within a process
a lock orders appenders, and the head this store last committed is kept, so an append is one
INSERT. Another writer (another process) has moved the head on when that INSERT collides on the
primary key ``seq``: the transaction rolls back and is retried after reading the head. Between
processes, PostgreSQL appenders also queue on a transaction-scoped advisory lock. Either way the
chain never forks.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shieldwall.domain import GENESIS_HASH, AuditEvent, NewAuditEvent, canonical_json, seal
from shieldwall.storage.clock import as_utc, now_utc
from shieldwall.storage.schema import AuditRow

#: Times an append is retried when another process took the next sequence number first.
APPEND_ATTEMPTS = 8
#: Advisory lock id (PostgreSQL) that serialises appenders across processes.
ADVISORY_LOCK = 0x5357_4155_4449_54  # "SWAUDIT"
#: Events read per round trip when walking the chain.
PAGE_SIZE = 5_000


def _event(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        row.seq,
        as_utc(row.at),
        row.actor,
        row.event,
        row.subject,
        json.loads(row.payload),
        row.payload_digest,
        row.prev_hash,
        row.hash,
    )


class AuditStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._lock = threading.Lock()
        self._postgres = engine.dialect.name == "postgresql"
        #: (seq, hash) of the last event this store committed; None: read it from the table.
        self._head: tuple[int, str] | None = None

    def append(
        self, events: Sequence[NewAuditEvent], also: Callable[[Session], None] | None = None
    ) -> list[AuditEvent]:
        """Append ``events`` in order, all or none, and return them sealed. ``also`` writes
        the rows the events describe in the same transaction (it may run again on a retry),
        so an event and what it records are never one without the other."""
        if not events:
            return []
        with self._lock:
            for attempt in range(APPEND_ATTEMPTS):
                try:
                    return self._append(events, also)
                except (IntegrityError, OperationalError):
                    self._head = None  # another writer moved it on: read it again
                    if attempt == APPEND_ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    def _append(
        self, events: Sequence[NewAuditEvent], also: Callable[[Session], None] | None
    ) -> list[AuditEvent]:
        with self._sessions.begin() as session:
            if also is not None:
                also(session)
            if self._postgres:
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
            seq, prev = self._head or self._read_head(session)
            at = now_utc()
            sealed = []
            for new in events:
                seq += 1
                event = seal(new, seq, at, prev)
                prev = event.hash
                sealed.append(event)
            session.execute(
                insert(AuditRow),
                [
                    {
                        "seq": event.seq,
                        "at": event.at,
                        "actor": event.actor,
                        "event": event.event,
                        "subject": event.subject,
                        "payload": canonical_json(event.payload),
                        "payload_digest": event.payload_digest,
                        "prev_hash": event.prev_hash,
                        "hash": event.hash,
                    }
                    for event in sealed
                ],
            )
        self._head = (seq, prev)
        return sealed

    @staticmethod
    def _read_head(session: Session) -> tuple[int, str]:
        head = session.execute(
            select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        ).first()
        return (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)

    def iter_events(self, after: int = 0) -> Iterator[AuditEvent]:
        """Every event with ``seq`` > ``after``, in order, a page at a time."""
        while True:
            with self._sessions() as session:
                rows = session.scalars(
                    select(AuditRow)
                    .where(AuditRow.seq > after)
                    .order_by(AuditRow.seq)
                    .limit(PAGE_SIZE)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _event(row)
            after = rows[-1].seq

    def for_subject(self, subject: str) -> list[AuditEvent]:
        with self._sessions() as session:
            rows = session.scalars(
                select(AuditRow).where(AuditRow.subject == subject).order_by(AuditRow.seq)
            )
            return [_event(r) for r in rows]

    def recent(self, limit: int = 100, event: str | None = None) -> list[AuditEvent]:
        query = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
        if event is not None:
            query = query.where(AuditRow.event == event)
        with self._sessions() as session:
            return [_event(r) for r in session.scalars(query)]

    def count(self, event: str | None = None) -> int:
        query = select(func.count()).select_from(AuditRow)
        if event is not None:
            query = query.where(AuditRow.event == event)
        with self._sessions() as session:
            return int(session.scalar(query) or 0)
