"""Verdicts and the reasons for them: what the policy decides about one scanned item."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(enum.StrEnum):
    """What should happen to an item. Ordered by severity: block > review > allow."""

    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.ALLOW: 0, Verdict.REVIEW: 1, Verdict.BLOCK: 2}


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that fired. ``code`` is stable (APIs and dashboards key on it); ``message`` is
    for people. ``verdict`` is what this rule alone asks for."""

    code: str
    message: str
    verdict: Verdict
    bank: str | None = None
    entry_id: int | None = None


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The policy's answer: a verdict, the rules behind it, the actions it names, and the version
    of the policy that decided (so a later change of policy never rewrites history)."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    actions: tuple[str, ...]
    policy_version: str
