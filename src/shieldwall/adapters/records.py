"""Domain objects as JSON records: the API's replies and the CLI's --json lines."""

from __future__ import annotations

from typing import Any

from shieldwall.actions import match_record
from shieldwall.domain import ApiKey, AuditEvent, Bank, Entry
from shieldwall.engine import Matcher, ScanDecision
from shieldwall.storage import ReviewItem


def decision_record(d: ScanDecision) -> dict[str, Any]:
    return {
        "scan_id": d.scan_id,
        "verdict": d.verdict.value,
        "reasons": [
            {
                "code": r.code,
                "message": r.message,
                "verdict": r.verdict.value,
                "bank": r.bank,
                "entry_id": r.entry_id,
            }
            for r in d.decision.reasons
        ],
        "matches": [match_record(m) for m in d.matches],
        "scores": dict(d.scores) if d.scores else {},
        "signals": dict(d.signals),
        "policy_version": d.decision.policy_version,
        "classifier": d.classifier,
        "actions": [
            {"action": o.action, "status": o.status.value, "detail": dict(o.detail)}
            for o in d.outcomes
            if o.action != "record"  # its detail repeats the reply's own signals and matches
        ],
        "timings_ms": {k: round(v * 1000, 2) for k, v in d.timings.items()},
    }


def bank_record(bank: Bank, matcher: Matcher) -> dict[str, Any]:
    return {
        "name": bank.name,
        "kind": bank.kind.value,
        "enabled": bank.enabled,
        "pdq_threshold": bank.pdq_threshold,
        "region_threshold": bank.region_threshold,
        "origin": bank.origin,
        "scope": bank.scope,
        "created_at": bank.created_at.isoformat(),
        "updated_at": bank.updated_at.isoformat(),
        "indexed": {
            "pdq": matcher.size(bank.name),
            "region": matcher.region_size(bank.name),
            "text": matcher.text_size(bank.name),
        },
    }


def entry_record(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "status": entry.status.value,
        "added_by": entry.added_by,
        "added_at": entry.added_at.isoformat(),
        "note": entry.note,
        "case_ref": entry.case_ref,
        "signals": [
            {
                "signal": s.signal.value,
                "value": s.value,
                "variant": s.variant,
                "quality": s.quality,
            }
            for s in entry.signals
        ],
    }


def key_record(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": sorted(s.value for s in key.scopes),
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def event_record(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "event": e.event,
        "subject": e.subject,
        "payload": dict(e.payload),
        "hash": e.hash,
        "prev_hash": e.prev_hash,
    }


def review_record(r: ReviewItem) -> dict[str, Any]:
    return {
        "id": r.id,
        "scan_id": r.scan_id,
        "source": r.source,
        "verdict": r.verdict,
        "reasons": r.reasons,
        "status": r.status,
        "created_at": r.created_at.isoformat(),
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "decided_by": r.decided_by,
    }
