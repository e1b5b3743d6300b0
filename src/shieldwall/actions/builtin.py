"""The built-in actions: record, quarantine, notify."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shieldwall.actions.base import ActionOutcome, OutcomeStatus, ScanContext
from shieldwall.domain import Match, Reason
from shieldwall.storage import OutboxStore, ReviewStore


def match_record(m: Match) -> dict[str, Any]:
    """A match as the API, the audit log and webhooks show it."""
    record: dict[str, Any] = {
        "bank": m.bank,
        "bank_kind": m.bank_kind.value,
        "entry_id": m.entry_id,
        "signal": m.signal.value,
        "distance": m.distance,
    }
    if m.region is not None:
        record.update(
            score=m.region.score,
            scale=m.region.scale,
            rotation_degrees=m.region.rotation_degrees,
            changed_box=list(m.region.changed_box) if m.region.changed_box else None,
            changed_share=m.region.changed_share,
        )
    return record


def reason_record(r: Reason) -> dict[str, Any]:
    """A reason as the audit log, review items and webhooks keep it (the message is for people
    and is rebuilt from these)."""
    record: dict[str, Any] = {"code": r.code, "verdict": r.verdict.value}
    if r.bank is not None:
        record["bank"] = r.bank
    if r.entry_id is not None:
        record["entry_id"] = r.entry_id
    return record


class RecordAction:
    """Keep the item's hashes and full matches with its decision in the audit log (the outcome's
    detail is that record). Without it the log keeps the verdict and reasons only: communities
    need not keep hashes of every allowed upload."""

    name = "record"

    def run(self, context: ScanContext) -> ActionOutcome:
        return ActionOutcome(
            self.name,
            OutcomeStatus.DONE,
            {
                "signals": dict(context.signals),
                "matches": [match_record(m) for m in context.matches],
                "scores": dict(context.scores) if context.scores is not None else None,
            },
        )


@dataclass
class QuarantineAction:
    """Open a review item. The content itself is not kept (privacy by design): the caller holds
    it back until a moderator decides, and finds the item by its scan id or its own reference."""

    reviews: ReviewStore
    name: str = "quarantine"

    def run(self, context: ScanContext) -> ActionOutcome:
        item = self.reviews.open(
            context.scan_id,
            f"{context.source}:{context.reference}" if context.reference else context.source,
            context.decision.verdict.value,
            [reason_record(r) for r in context.decision.reasons],
        )
        return ActionOutcome(self.name, OutcomeStatus.DONE, {"review_id": item.id})


@dataclass
class NotifyAction:
    """Queue a signed webhook to ``url`` (sent and retried by the WebhookSender). The body names
    the decision, its reasons and the matched entries; never the content or its hashes."""

    outbox: OutboxStore
    url: str | None
    name: str = "notify"

    def run(self, context: ScanContext) -> ActionOutcome:
        if not self.url:
            return ActionOutcome(self.name, OutcomeStatus.SKIPPED, {"why": "no webhook url set"})
        body = json.dumps(
            {
                "type": "shieldwall.decision",
                "scan_id": context.scan_id,
                "source": context.source,
                "reference": context.reference,
                "verdict": context.decision.verdict.value,
                "reasons": [reason_record(r) for r in context.decision.reasons],
                "policy_version": context.decision.policy_version,
                "matches": [
                    {"bank": m.bank, "entry_id": m.entry_id, "signal": m.signal.value}
                    for m in context.matches
                ],
                "sent_for": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            sort_keys=True,
        )
        delivery = self.outbox.enqueue(context.scan_id, self.url, body)
        return ActionOutcome(self.name, OutcomeStatus.QUEUED, {"delivery_id": delivery.id})
