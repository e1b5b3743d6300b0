"""Moderator: one item in, a decision out, acted on and audited.

decode -> signals -> match -> classify (when the verdict could depend on it) -> policy -> actions
-> audit. The bytes are dropped when ``scan`` returns; the audit log keeps the decision, and the
item's hashes only when the policy's actions include ``record``. Each stage is timed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shieldwall.actions import (
    ActionOutcome,
    ActionRegistry,
    OutcomeStatus,
    ScanContext,
    reason_record,
)
from shieldwall.classifiers import Classifier
from shieldwall.domain import Match, NewAuditEvent, PolicyDecision, Verdict
from shieldwall.engine.matcher import QueryHashes
from shieldwall.engine.policy import Policy
from shieldwall.engine.scanner import Scanner
from shieldwall.signals import ImageSignals, TextQuery
from shieldwall.storage import AuditStore

log = logging.getLogger(__name__)
#: Stages timed for each scan (seconds), in order.
STAGES = ("decode", "signals", "match", "classify", "decide")


@dataclass(frozen=True, slots=True)
class ScanDecision:
    scan_id: str
    decision: PolicyDecision
    matches: tuple[Match, ...]
    #: Classifier scores; None when no classifier ran (hash-only, or not needed for the verdict).
    scores: Mapping[str, float] | None
    signals: Mapping[str, str | int]
    outcomes: tuple[ActionOutcome, ...]
    timings: Mapping[str, float] = field(default_factory=dict)
    classifier: str | None = None
    classifier_error: str | None = None

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict


def signal_summary(signals: ImageSignals) -> dict[str, str | int]:
    return {
        "pdq": signals.pdq.hex,
        "pdq_quality": signals.pdq.quality,
        "md5": signals.md5,
        "sha256": signals.sha256,
    }


class Moderator:
    def __init__(
        self,
        scanner: Scanner,
        policy: Policy,
        actions: ActionRegistry,
        audit: AuditStore,
        classifier: Classifier | None = None,
    ) -> None:
        self.scanner = scanner
        self.policy = policy
        self.actions = actions
        self.classifier = classifier
        self._audit = audit

    def scan(
        self,
        data: bytes,
        *,
        source: str,
        reference: str | None = None,
        text: str | None = None,
        scope: str | None = None,
        policy: Policy | None = None,
        scan_id: str | None = None,
    ) -> ScanDecision:
        """Decide about image bytes (and the ``text`` sent with them, e.g. a caption). Banks
        with a scope apply only to scans with that ``scope``; ``policy`` replaces the service's
        (a community's own, see Policy.for_community); ``scan_id`` is the caller's own id for
        the decision (a caller that may crash records it first, to find the decision in the
        audit log after a restart). Raises DecodeError (nothing is recorded) for bad input."""
        policy = policy or self.policy
        timings: dict[str, float] = {}
        start = time.perf_counter()
        image = self.scanner.decode(data)
        timings["decode"] = _lap(start)
        start = time.perf_counter()
        signals = self.scanner.hash_image(image, data)
        timings["signals"] = _lap(start)
        start = time.perf_counter()
        query = QueryHashes.of(signals, TextQuery.of(text) if text else None)
        matches = self.scanner.matcher.match(query, scope)
        timings["match"] = _lap(start)
        scores: dict[str, float] | None = None
        error: str | None = None
        name = self.classifier.name if self.classifier is not None else None
        if self.classifier is not None and policy.needs_scores(matches):
            start = time.perf_counter()
            try:
                scores = self.classifier.scores(image.pixels)
            except Exception as exc:  # a model failure must not lose the hash decision
                log.exception("classifier %s failed", name)
                error = f"{exc.__class__.__name__}: {exc}"[:200]
            timings["classify"] = _lap(start)
        del image
        return self._decide(
            policy,
            matches,
            scores,
            signal_summary(signals),
            source,
            reference,
            timings,
            name,
            error,
            scan_id,
        )

    def scan_text(
        self,
        text: str,
        *,
        source: str,
        reference: str | None = None,
        scope: str | None = None,
        policy: Policy | None = None,
        scan_id: str | None = None,
    ) -> ScanDecision:
        """Decide about text alone (a message without an image) against the text banks."""
        start = time.perf_counter()
        matches = self.scanner.matcher.match(QueryHashes(text=TextQuery.of(text)), scope)
        timings = {"match": _lap(start)}
        return self._decide(
            policy or self.policy,
            matches,
            None,
            {},
            source,
            reference,
            timings,
            None,
            None,
            scan_id,
        )

    def decide_hashes(
        self,
        query: QueryHashes,
        *,
        source: str,
        reference: str | None = None,
        scope: str | None = None,
    ) -> ScanDecision:
        """Decide from hashes a client computed (no pixels, so no classifier)."""
        start = time.perf_counter()
        matches = self.scanner.matcher.match(query, scope)
        timings = {"match": _lap(start)}
        signals: dict[str, str | int] = {
            k: v for k, v in (("md5", query.md5), ("sha256", query.sha256)) if v
        }
        if query.pdq:
            signals["pdq"] = query.pdq[0][1]
        return self._decide(
            self.policy, matches, None, signals, source, reference, timings, None, None
        )

    def _decide(
        self,
        policy: Policy,
        matches: list[Match],
        scores: dict[str, float] | None,
        signals: dict[str, str | int],
        source: str,
        reference: str | None,
        timings: dict[str, float],
        classifier: str | None,
        classifier_error: str | None,
        scan_id: str | None = None,
    ) -> ScanDecision:
        start = time.perf_counter()
        decision = policy.decide(matches, scores)
        scan_id = scan_id or uuid.uuid4().hex
        context = ScanContext(scan_id, source, reference, decision, matches, scores, signals)
        outcomes = tuple(self._run(name, context) for name in decision.actions)
        payload: dict[str, Any] = {
            "verdict": decision.verdict.value,
            "reasons": [reason_record(r) for r in decision.reasons],
            "policy_version": decision.policy_version,
            "reference": reference,
            "scores": {k: round(v, 4) for k, v in scores.items()} if scores else None,
            "classifier": classifier,
            "actions": [o.action for o in outcomes],
        }
        if classifier_error:
            payload["classifier_error"] = classifier_error
        events = [NewAuditEvent(source, "scan.decided", scan_id, payload)]
        events += [
            NewAuditEvent(
                source, f"action.{o.action}", scan_id, {"status": o.status.value, **o.detail}
            )
            for o in outcomes
        ]
        self._audit.append(events)
        timings["decide"] = _lap(start)
        return ScanDecision(
            scan_id,
            decision,
            tuple(matches),
            scores,
            signals,
            outcomes,
            timings,
            classifier,
            classifier_error,
        )

    def _run(self, name: str, context: ScanContext) -> ActionOutcome:
        try:
            return self.actions[name].run(context)
        except Exception as exc:  # one failing action must not stop the others or the audit
            log.exception("action %s failed for scan %s", name, context.scan_id)
            return ActionOutcome(name, OutcomeStatus.FAILED, {"error": str(exc)[:200]})


def _lap(start: float) -> float:
    return time.perf_counter() - start
