"""ReviewStore: items held for a moderator (the quarantine action) and their outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from shieldwall.domain import InvalidArgumentError, ReviewNotFoundError
from shieldwall.storage.clock import as_utc, now_utc
from shieldwall.storage.schema import ReviewRow

PENDING = "pending"
#: A moderator's outcomes.
OUTCOMES = ("allowed", "blocked")


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    scan_id: str
    source: str
    verdict: str
    reasons: list[dict[str, Any]]
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None


def _item(row: ReviewRow) -> ReviewItem:
    return ReviewItem(
        row.id,
        row.scan_id,
        row.source,
        row.verdict,
        json.loads(row.reasons),
        row.status,
        as_utc(row.created_at),
        as_utc(row.decided_at) if row.decided_at else None,
        row.decided_by,
    )


class ReviewStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def open(
        self, scan_id: str, source: str, verdict: str, reasons: list[dict[str, Any]]
    ) -> ReviewItem:
        row = ReviewRow(
            scan_id=scan_id,
            source=source[:200],
            verdict=verdict,
            reasons=json.dumps(reasons),
            status=PENDING,
            created_at=now_utc(),
        )
        with self._sessions.begin() as session:
            session.add(row)
        return _item(row)

    def list(self, status: str | None = PENDING, limit: int = 100) -> list[ReviewItem]:
        query = select(ReviewRow).order_by(ReviewRow.id).limit(limit)
        if status is not None:
            query = query.where(ReviewRow.status == status)
        with self._sessions() as session:
            return [_item(r) for r in session.scalars(query)]

    def count_pending(self, source_prefix: str = "") -> int:
        """Open items whose source starts with ``source_prefix``."""
        query = select(func.count()).where(
            ReviewRow.status == PENDING, ReviewRow.source.startswith(source_prefix, autoescape=True)
        )
        with self._sessions() as session:
            return int(session.scalar(query) or 0)

    def decide(self, review_id: int, outcome: str, actor: str) -> ReviewItem:
        if outcome not in OUTCOMES:
            raise InvalidArgumentError(f"a review outcome is one of {', '.join(OUTCOMES)}")
        with self._sessions.begin() as session:
            row = session.get(ReviewRow, review_id)
            if row is None:
                raise ReviewNotFoundError(f"no review item {review_id}")
            if row.status != PENDING:
                raise InvalidArgumentError(f"review item {review_id} is {row.status} already")
            row.status, row.decided_at, row.decided_by = outcome, now_utc(), actor[:200]
            return _item(row)
