"""What actions see and return, and the registry that names them.

An action is what a verdict makes happen (the policy file names them per verdict). Built-ins
register through ``ActionRegistry.register`` exactly as an adapter's own do (the Telegram bot adds
``delete``); a duplicate name is refused at start-up, and a policy naming an unregistered action
does not load.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from shieldwall.domain import InvalidArgumentError, Match, PolicyDecision


@dataclass(frozen=True, slots=True)
class ScanContext:
    """One decided item, as actions see it. Never the content: its hashes and the decision."""

    scan_id: str
    #: Who asked: "api:<key name>", "telegram:<chat id>", "cli".
    source: str
    #: The caller's own reference for the item (an upload id, a message id), if it gave one.
    reference: str | None
    decision: PolicyDecision
    matches: Sequence[Match]
    scores: Mapping[str, float] | None
    #: Hashes of the item: {"pdq": ..., "md5": ..., "sha256": ...} (absent ones left out).
    signals: Mapping[str, str | int]


class OutcomeStatus(enum.StrEnum):
    DONE = "done"
    QUEUED = "queued"  # will happen later (a webhook in the outbox)
    SKIPPED = "skipped"  # not configured here
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    action: str
    status: OutcomeStatus
    #: What was done, for the audit log and the API reply (ids, reasons). JSON-serialisable.
    detail: Mapping[str, Any] = field(default_factory=dict)


class Action(Protocol):
    @property
    def name(self) -> str: ...

    def run(self, context: ScanContext) -> ActionOutcome:
        """Do it, or say why not. Raising is a bug: report failure as a FAILED outcome."""
        ...


class ActionRegistry:
    def __init__(self, actions: Sequence[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            self.register(action)

    def register(self, action: Action) -> None:
        if action.name in self._actions:
            raise InvalidArgumentError(f"an action named {action.name!r} is registered already")
        self._actions[action.name] = action

    def names(self) -> set[str]:
        return set(self._actions)

    def __getitem__(self, name: str) -> Action:
        return self._actions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._actions)
