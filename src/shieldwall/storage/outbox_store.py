"""OutboxStore: webhook deliveries waiting to be sent, with their retry schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import sessionmaker

from shieldwall.storage.clock import as_utc, now_utc
from shieldwall.storage.schema import DeliveryRow

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
#: Seconds a claimed delivery is held by its sender (far above one attempt's 5 s timeout).
LEASE_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    scan_id: str
    url: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        row.id,
        row.scan_id,
        row.url,
        row.body,
        row.status,
        row.attempts,
        as_utc(row.next_attempt_at),
        row.last_error,
    )


class OutboxStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def enqueue(self, scan_id: str, url: str, body: str) -> Delivery:
        now = now_utc()
        row = DeliveryRow(
            scan_id=scan_id,
            url=url,
            body=body,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        with self._sessions.begin() as session:
            session.add(row)
        return _delivery(row)

    def due(self, limit: int = 50, lease_seconds: float = LEASE_SECONDS) -> list[Delivery]:
        """Claim up to ``limit`` deliveries that are due, for ``lease_seconds``: a sender in
        another process (the API and the Telegram bot each run one) does not take them too,
        and a sender that died mid-send leaves them to be retried when the lease ends."""
        now = now_utc()
        due = (DeliveryRow.status == PENDING, DeliveryRow.next_attempt_at <= now)
        with self._sessions.begin() as session:
            ids = session.scalars(
                select(DeliveryRow.id)
                .where(*due)
                .order_by(DeliveryRow.next_attempt_at)
                .limit(limit)
            ).all()
            if not ids:
                return []
            # Conditional: of two senders racing for a row, the second finds it leased.
            claimed = session.scalars(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids), *due)
                .values(next_attempt_at=now + timedelta(seconds=lease_seconds))
                .returning(DeliveryRow)
            ).all()
            return sorted((_delivery(r) for r in claimed), key=lambda d: d.id)

    def record_attempt(
        self, delivery_id: int, status: str, error: str | None, next_attempt_at: datetime
    ) -> Delivery:
        with self._sessions.begin() as session:
            row = session.get(DeliveryRow, delivery_id)
            assert row is not None
            row.attempts += 1
            row.status, row.last_error, row.next_attempt_at = status, error, next_attempt_at
            return _delivery(row)

    def count(self, status: str) -> int:
        with self._sessions() as session:
            query = select(func.count()).select_from(DeliveryRow)
            return int(session.scalar(query.where(DeliveryRow.status == status)) or 0)
