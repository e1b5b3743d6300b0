"""The verdict policy: matches and classifier scores in, a verdict with its reasons out. Pure: no
I/O once loaded, the same input always gives the same decision.

Rules (the TOML file sets the verdicts and thresholds; ``default_policy.toml`` documents them):
a ``known`` match blocks; an ``allow`` match allows and wins over scores and source matches (and
over known matches with ``overrides_known``); a derived match on a ``source`` bank blocks when
the classifier calls the image explicit and goes to review when it does not say so; an explicit
image with no match gets ``explicit.without_match``; text (a caption, a message) matching a
``text`` bank gets ``text.match`` whatever an image allow-list says; anything else is allowed.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from shieldwall.classifiers import EXPLICIT
from shieldwall.domain import (
    BankKind,
    Match,
    PolicyDecision,
    PolicyError,
    Reason,
    SignalType,
    Verdict,
)

DEFAULT_POLICY_FILE = "default_policy.toml"


@dataclass(frozen=True, slots=True)
class Policy:
    name: str = "default"
    version: int = 1
    explicit_threshold: float = 0.8
    explicit_without_match: Verdict = Verdict.REVIEW
    derived_explicit: Verdict = Verdict.BLOCK
    derived_unconfirmed: Verdict = Verdict.REVIEW
    source_copy: Verdict = Verdict.ALLOW
    allow_overrides_known: bool = True
    text_match: Verdict = Verdict.BLOCK
    actions: Mapping[Verdict, tuple[str, ...]] = field(
        default_factory=lambda: {
            Verdict.ALLOW: (),
            Verdict.REVIEW: ("record", "quarantine"),
            Verdict.BLOCK: ("record", "notify"),
        }
    )
    #: "<name>-v<version>+<first 12 hex of the file's SHA-256>"; set by the loader.
    digest: str = ""
    #: What a community changed of this policy (see ``for_community``), e.g. "explicit=allow".
    overrides: str = ""

    @property
    def label(self) -> str:
        suffix = f"+{self.digest}" if self.digest else ""
        changed = f";{self.overrides}" if self.overrides else ""
        return f"{self.name}-v{self.version}{suffix}{changed}"

    def for_community(self, explicit_without_match: Verdict | None) -> Policy:
        """This policy as one community (a Telegram group) set it: what an explicit image with
        no bank match gets is theirs to choose (an adult community allows it). The label names
        the change, so each decision still says which rules made it."""
        if explicit_without_match is None or explicit_without_match is self.explicit_without_match:
            return self
        return replace(
            self,
            explicit_without_match=explicit_without_match,
            overrides=f"explicit={explicit_without_match.value}",
        )

    def named_actions(self) -> set[str]:
        return {name for names in self.actions.values() for name in names}

    def needs_scores(self, matches: Sequence[Match]) -> bool:
        """Whether a classifier score could change the verdict for these matches (a known
        match that nothing overrides blocks whatever the score, so the model need not run)."""
        kinds = {m.bank_kind for m in matches}
        if BankKind.TEXT in kinds and self.text_match is Verdict.BLOCK:
            return False
        return not (BankKind.KNOWN in kinds and BankKind.ALLOW not in kinds)

    def decide(
        self, matches: Sequence[Match], scores: Mapping[str, float] | None
    ) -> PolicyDecision:
        """``scores`` is None when no classifier ran (hash-only service, or not needed)."""
        explicit_score = None if scores is None else scores.get(EXPLICIT)
        explicit = explicit_score is not None and explicit_score >= self.explicit_threshold
        reasons: list[Reason] = []
        allows = [m for m in matches if m.bank_kind is BankKind.ALLOW]
        known = [m for m in matches if m.bank_kind is BankKind.KNOWN]
        source = [m for m in matches if m.bank_kind is BankKind.SOURCE]
        for m in _one_per_entry(known):
            reasons.append(
                Reason(
                    "known_match",
                    f"matches entry {m.entry_id} of known bank {m.bank!r} ({_how(m)})",
                    Verdict.BLOCK,
                    m.bank,
                    m.entry_id,
                )
            )
        for m in _one_per_entry(source):
            reasons.append(self._source_reason(m, explicit, explicit_score))
        if explicit and not known and not source:
            reasons.append(
                Reason(
                    "explicit_no_match",
                    f"classifier score {explicit_score:.2f} >= {self.explicit_threshold} "
                    "and no bank match",
                    self.explicit_without_match,
                )
            )
        verdict = _most_severe(r.verdict for r in reasons)
        if allows and (self.allow_overrides_known or not known):
            overridden = verdict is not None and verdict is not Verdict.ALLOW
            for m in _one_per_entry(allows):
                note = " (overrides the other rules)" if overridden else ""
                reasons.insert(
                    0,
                    Reason(
                        "allow_match",
                        f"matches entry {m.entry_id} of allow bank {m.bank!r}{note}",
                        Verdict.ALLOW,
                        m.bank,
                        m.entry_id,
                    ),
                )
            verdict = Verdict.ALLOW
        # An image allow-list says nothing about the words sent with the image.
        for m in _one_per_entry([m for m in matches if m.bank_kind is BankKind.TEXT]):
            reasons.append(
                Reason(
                    "text_match",
                    f"text matches pattern {m.entry_id} of text bank {m.bank!r}",
                    self.text_match,
                    m.bank,
                    m.entry_id,
                )
            )
            verdict = _most_severe((self.text_match, *([verdict] if verdict else [])))
        if verdict is None:
            verdict = Verdict.ALLOW
            reasons.append(Reason("no_rule", "no bank match and not explicit", Verdict.ALLOW))
        return PolicyDecision(verdict, tuple(reasons), self.actions[verdict], self.label)

    def _source_reason(self, m: Match, explicit: bool, score: float | None) -> Reason:
        derived = m.signal is SignalType.REGION and m.region is not None and m.region.changed_box
        where = f"registered photo {m.entry_id} of source bank {m.bank!r}"
        if not derived:
            return Reason(
                "source_copy",
                f"a copy of {where} ({_how(m)})",
                self.source_copy,
                m.bank,
                m.entry_id,
            )
        if explicit:
            return Reason(
                "derived_explicit",
                f"derived from {where} ({_how(m)}) and classifier score {score:.2f} is explicit",
                self.derived_explicit,
                m.bank,
                m.entry_id,
            )
        why = "no classifier score" if score is None else f"classifier score {score:.2f}"
        return Reason(
            "derived_unconfirmed",
            f"derived from {where} ({_how(m)}); {why}",
            self.derived_unconfirmed,
            m.bank,
            m.entry_id,
        )


def _most_severe(verdicts: Iterable[Verdict]) -> Verdict | None:
    return max(verdicts, key=lambda v: v.severity, default=None)


def _how(m: Match) -> str:
    if m.region is not None:
        return f"region score {m.region.score}"
    if m.signal is SignalType.PDQ:
        return f"pdq distance {m.distance}"
    return f"exact {m.signal.value}"


def _one_per_entry(matches: Sequence[Match]) -> list[Match]:
    """The strongest match of each (bank, entry): exact before region before PDQ by distance."""
    best: dict[tuple[str, int], Match] = {}
    for m in matches:
        key = (m.bank, m.entry_id)
        if key not in best or _rank(m) < _rank(best[key]):
            best[key] = m
    return [best[k] for k in sorted(best)]


def _rank(m: Match) -> tuple[int, int]:
    if m.signal in (SignalType.MD5, SignalType.SHA256):
        return (0, 0)
    if m.signal is SignalType.REGION:
        return (1, -(m.region.score if m.region else 0))
    return (2, m.distance)


# -- loading ----------------------------------------------------------------------------------


def default_policy_text() -> str:
    return (resources.files("shieldwall.engine") / DEFAULT_POLICY_FILE).read_text()


def load_policy(path: Path | None = None, known_actions: Collection[str] | None = None) -> Policy:
    """Read a policy file (the bundled default when ``path`` is None). Raises PolicyError naming
    the first problem; an action name outside ``known_actions`` is a problem."""
    if path is None:
        text = default_policy_text()
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc}") from None
    return parse_policy(text, known_actions)


def parse_policy(text: str, known_actions: Collection[str] | None = None) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file is not valid TOML: {exc}") from None
    reader = _Reader(data)
    name = reader.get("name", str, "default")
    version = reader.get("version", int, 1)
    explicit = reader.table("explicit")
    source = reader.table("source")
    allow = reader.table("allow")
    text_table = reader.table("text")
    actions_table = reader.table("actions")
    threshold = float(explicit.get("threshold", (int, float), 0.8))
    if not 0.0 <= threshold <= 1.0:
        raise PolicyError(f"explicit.threshold must be between 0 and 1, got {threshold}")
    actions: dict[Verdict, tuple[str, ...]] = {}
    for verdict in Verdict:
        names = actions_table.get(verdict.value, list, list(Policy().actions[verdict]))
        if not all(isinstance(n, str) for n in names):
            raise PolicyError(f"actions.{verdict.value} must be a list of action names")
        if known_actions is not None:
            for n in names:
                if n not in known_actions:
                    raise PolicyError(
                        f"actions.{verdict.value} names unknown action {n!r:.40}; known: "
                        + ", ".join(sorted(known_actions))
                    )
        actions[verdict] = tuple(names)
    policy = Policy(
        name=name,
        version=version,
        explicit_threshold=threshold,
        explicit_without_match=explicit.verdict("without_match", Verdict.REVIEW),
        derived_explicit=source.verdict("derived_explicit", Verdict.BLOCK),
        derived_unconfirmed=source.verdict("derived_unconfirmed", Verdict.REVIEW),
        source_copy=source.verdict("copy", Verdict.ALLOW),
        allow_overrides_known=allow.get("overrides_known", bool, True),
        text_match=text_table.verdict("match", Verdict.BLOCK),
        actions=actions,
        digest=hashlib.sha256(text.encode()).hexdigest()[:12],
    )
    for leftover in reader.unknown():
        raise PolicyError(f"unknown policy setting {leftover!r:.60}")
    return policy


class _Reader:
    """Typed access to one TOML table that remembers which keys were read."""

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self._data = data
        self._prefix = prefix
        self._read: set[str] = set()
        self._children: list[_Reader] = []

    def get(self, key: str, kind: Any, default: Any) -> Any:
        self._read.add(key)
        if key not in self._data:
            return default
        value = self._data[key]
        # bool is an int in Python; a threshold of `true` is a mistake, not 1.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise PolicyError(f"{self._prefix}{key} has the wrong type: {value!r:.60}")
        return value

    def table(self, key: str) -> _Reader:
        child = _Reader(self.get(key, dict, {}), f"{self._prefix}{key}.")
        self._children.append(child)
        return child

    def verdict(self, key: str, default: Verdict) -> Verdict:
        value = self.get(key, str, default.value)
        try:
            return Verdict(value)
        except ValueError:
            raise PolicyError(
                f"{self._prefix}{key} must be allow, review or block, got {value!r:.40}"
            ) from None

    def unknown(self) -> list[str]:
        own = [f"{self._prefix}{k}" for k in self._data if k not in self._read]
        return own + [name for child in self._children for name in child.unknown()]
