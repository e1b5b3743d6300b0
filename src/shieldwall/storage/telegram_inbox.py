"""TelegramInbox: received updates until they are handled, and what was done per message.

Exactly-once effects across crashes rest on two records. An update is stored (with the polling
offset it implies) before Telegram is told it arrived; it is marked handled only after its
handler returns, so a restart handles again what a crash interrupted. A handler first claims
its message's content (chat, message id, content key): a claimed content that was finished
is skipped, and one that was not resumes after its last recorded step.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shieldwall.domain import NewAuditEvent
from shieldwall.storage.audit_store import AuditStore
from shieldwall.storage.clock import as_utc, now_utc
from shieldwall.storage.schema import TelegramMessageRow, TelegramStrikeRow, TelegramUpdateRow
from shieldwall.storage.telegram_chats import Strike, upsert

PENDING, DONE, FAILED = "pending", "done", "failed"
#: Message states: claimed, decided (a verdict is recorded), finished (every step done).
RECEIVED, DECIDED, FINISHED = "received", "decided", "finished"


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    update_id: int
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    chat_id: int
    message_id: int
    content_key: str
    update_id: int
    sender_id: int | None
    state: str
    scan_id: str | None
    verdict: str | None
    reasons: list[dict[str, Any]]
    hashes: dict[str, Any] | None
    review_id: int | None
    #: Step name -> what came of it ("done", "failed: ...", a message id, ...).
    steps: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    #: Set by ``claim`` when this call made the record (nothing was done about it before).
    new: bool = False


def _record(row: TelegramMessageRow) -> MessageRecord:
    return MessageRecord(
        id=row.id,
        chat_id=row.chat_id,
        message_id=row.message_id,
        content_key=row.content_key,
        update_id=row.update_id,
        sender_id=row.sender_id,
        state=row.state,
        scan_id=row.scan_id,
        verdict=row.verdict,
        reasons=json.loads(row.reasons) if row.reasons else [],
        hashes=json.loads(row.hashes) if row.hashes else None,
        review_id=row.review_id,
        steps=json.loads(row.steps),
        created_at=as_utc(row.created_at),
    )


class TelegramInbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._insert = upsert(engine)
        # Strikes are read and written in one transaction; SQLite cannot upgrade a read to a
        # write once another thread wrote, so this process's strikes go one at a time.
        self._strike_lock = threading.Lock()

    # -- updates ---------------------------------------------------------------------------------

    def offset(self) -> int | None:
        """The getUpdates offset that confirms every stored update (None: nothing stored)."""
        with self._sessions() as session:
            newest = session.scalar(select(func.max(TelegramUpdateRow.update_id)))
        return None if newest is None else int(newest) + 1

    def add(self, updates: Sequence[tuple[int, str]]) -> list[int]:
        """Store updates (id, JSON payload) in one transaction; return the ids not seen before,
        in order. An update stored already (redelivered) is left as it is."""
        if not updates:
            return []
        ids = [update_id for update_id, _ in updates]
        now = now_utc()
        with self._engine.begin() as connection:
            seen = set(
                connection.scalars(
                    select(TelegramUpdateRow.update_id).where(TelegramUpdateRow.update_id.in_(ids))
                )
            )
            fresh = [(i, p) for i, p in updates if i not in seen]
            if fresh:
                connection.execute(
                    self._insert(TelegramUpdateRow).on_conflict_do_nothing(),
                    [
                        {
                            "update_id": i,
                            "payload": p,
                            "status": PENDING,
                            "attempts": 1,  # handling starts now; a restart counts another
                            "received_at": now,
                        }
                        for i, p in fresh
                    ],
                )
        return sorted(i for i, _ in fresh)

    def pending(self) -> list[PendingUpdate]:
        """Updates received but not handled (a crash interrupted them), oldest first."""
        with self._sessions() as session:
            rows = session.execute(
                select(
                    TelegramUpdateRow.update_id,
                    TelegramUpdateRow.payload,
                    TelegramUpdateRow.attempts,
                )
                .where(TelegramUpdateRow.status == PENDING)
                .order_by(TelegramUpdateRow.update_id)
            ).all()
        return [PendingUpdate(i, p or "{}", a) for i, p, a in rows]

    def attempt(self, update_id: int) -> int:
        """Count one more attempt at handling the update; return the count."""
        with self._sessions.begin() as session:
            row = session.get(TelegramUpdateRow, update_id)
            if row is None:
                return 0
            row.attempts += 1
            return row.attempts

    def finish(self, update_id: int, error: str | None = None) -> None:
        """Handled (or given up, with ``error``): the payload is dropped."""
        with self._engine.begin() as connection:
            connection.execute(
                update(TelegramUpdateRow)
                .where(TelegramUpdateRow.update_id == update_id)
                .values(
                    status=FAILED if error else DONE,
                    payload=None,
                    done_at=now_utc(),
                    error=error[:500] if error else None,
                )
            )

    def prune(self, older_than: timedelta) -> int:
        """Forget handled updates and finished messages older than ``older_than`` (the newest
        update always stays: it carries the offset)."""
        cutoff = now_utc() - older_than
        with self._engine.begin() as connection:
            newest = connection.scalar(select(func.max(TelegramUpdateRow.update_id)))
            gone = connection.execute(
                delete(TelegramUpdateRow).where(
                    TelegramUpdateRow.status != PENDING,
                    TelegramUpdateRow.received_at < cutoff,
                    TelegramUpdateRow.update_id != newest,
                )
            ).rowcount
            gone += connection.execute(
                delete(TelegramMessageRow).where(
                    TelegramMessageRow.state == FINISHED,
                    TelegramMessageRow.review_id.is_(None),
                    TelegramMessageRow.created_at < cutoff,
                )
            ).rowcount
        return int(gone)

    # -- messages --------------------------------------------------------------------------------

    def claim(
        self,
        chat_id: int,
        message_id: int,
        content_key: str,
        update_id: int,
        sender_id: int | None,
    ) -> MessageRecord:
        """The record of this content of this message: a new one, or the one an earlier
        delivery (or a crashed attempt) made. A new record gets the id its scan will have, so
        a decision made just before a crash is found in the audit log, not made again."""
        now = now_utc()
        with self._sessions.begin() as session:
            inserted = session.execute(
                self._insert(TelegramMessageRow)
                .values(
                    chat_id=chat_id,
                    message_id=message_id,
                    content_key=content_key,
                    update_id=update_id,
                    sender_id=sender_id,
                    state=RECEIVED,
                    scan_id=uuid.uuid4().hex,
                    steps="{}",
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
            ).rowcount  # type: ignore[attr-defined]
            row = session.scalars(
                select(TelegramMessageRow).where(
                    TelegramMessageRow.chat_id == chat_id,
                    TelegramMessageRow.message_id == message_id,
                    TelegramMessageRow.content_key == content_key,
                )
            ).one()
            return replace(_record(row), new=inserted == 1)

    def get(self, record_id: int) -> MessageRecord | None:
        with self._sessions() as session:
            row = session.get(TelegramMessageRow, record_id)
            return _record(row) if row is not None else None

    def decide(
        self,
        record_id: int,
        *,
        scan_id: str | None,
        verdict: str,
        reasons: list[dict[str, Any]],
        hashes: Mapping[str, Any] | None = None,
        review_id: int | None = None,
        finished: bool = False,
    ) -> MessageRecord:
        """Record the verdict; ``finished`` when nothing is left to do (an allowed item)."""
        with self._sessions.begin() as session:
            row = self._row(session, record_id)
            row.scan_id, row.verdict = scan_id, verdict
            row.state = FINISHED if finished else DECIDED
            row.reasons = json.dumps(reasons)
            row.hashes = json.dumps(dict(hashes)) if hashes else None
            row.review_id = review_id
            row.updated_at = now_utc()
            return _record(row)

    def strike(self, record_id: int, chat_id: int, user_id: int, restrict_after: int) -> Strike:
        """Count the record's blocked post against its sender, once: the count and the step
        that says it was counted are one transaction, so a restart never counts it again. The
        first record to reach ``restrict_after`` (0: never) is the one told to restrict, also
        when posts of the sender are handled at once; ``unrestricted`` hands that back if the
        restriction failed."""
        with self._strike_lock, self._sessions.begin() as session:
            row = self._row(session, record_id)
            steps = json.loads(row.steps)
            if "strike" in steps:
                return Strike(**steps["strike"])
            strike = session.get(TelegramStrikeRow, (chat_id, user_id), with_for_update=True)
            if strike is None:
                strike = TelegramStrikeRow(
                    chat_id=chat_id, user_id=user_id, count=0, last_at=now_utc()
                )
                session.add(strike)
            strike.count += 1
            strike.last_at = now_utc()
            restrict = bool(restrict_after) and strike.count >= restrict_after
            restrict = restrict and strike.restricted_at is None
            if restrict:
                strike.restricted_at = now_utc()
            steps["strike"] = {"count": strike.count, "restrict": restrict}
            row.steps = json.dumps(steps)
            return Strike(strike.count, restrict)

    def unrestricted(self, chat_id: int, user_id: int) -> None:
        """The restriction a strike asked for did not happen: the next strike asks again."""
        with self._sessions.begin() as session:
            strike = session.get(TelegramStrikeRow, (chat_id, user_id))
            if strike is not None:
                strike.restricted_at = None

    def step(
        self,
        record_id: int,
        name: str,
        result: Any,
        *,
        review_id: int | None = None,
        finished: bool = False,
        forget_hashes: bool = False,
        audit: AuditStore | None = None,
        event: NewAuditEvent | None = None,
    ) -> MessageRecord:
        """Record that step ``name`` came to ``result`` (JSON-able); with ``audit`` and
        ``event``, the event is appended in the same transaction (both or neither)."""
        done: list[MessageRecord] = []

        def apply(session: Session) -> None:
            done.clear()
            row = self._row(session, record_id)
            steps = json.loads(row.steps)
            steps[name] = result
            row.steps = json.dumps(steps)
            if review_id is not None:
                row.review_id = review_id
            if finished:
                row.state = FINISHED
            if forget_hashes:
                row.hashes = None
            row.updated_at = now_utc()
            session.flush()
            done.append(_record(row))

        if audit is not None and event is not None:
            audit.append([event], also=apply)
        else:
            with self._sessions.begin() as session:
                apply(session)
        return done[0]

    def finish_message(self, record_id: int) -> None:
        with self._sessions.begin() as session:
            row = self._row(session, record_id)
            row.state, row.updated_at = FINISHED, now_utc()

    def verdict_counts(self, chat_id: int, since: datetime) -> dict[str, int]:
        """Decided contents of the chat since ``since``, by verdict."""
        with self._sessions() as session:
            rows = session.execute(
                select(TelegramMessageRow.verdict, func.count())
                .where(
                    TelegramMessageRow.chat_id == chat_id,
                    TelegramMessageRow.created_at >= since,
                    TelegramMessageRow.verdict.is_not(None),
                )
                .group_by(TelegramMessageRow.verdict)
            ).all()
        return dict(Counter({str(v): int(n) for v, n in rows}))

    @staticmethod
    def _row(session: Any, record_id: int) -> TelegramMessageRow:
        row: TelegramMessageRow | None = session.get(TelegramMessageRow, record_id)
        if row is None:
            raise KeyError(record_id)
        return row
