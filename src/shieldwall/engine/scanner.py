"""Scanner: image bytes in, signals and matches out. The bytes are not kept."""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.domain import Match
from shieldwall.engine.matcher import Matcher, QueryHashes
from shieldwall.media import DecodeLimits
from shieldwall.signals import ImageSignals, compute_signals


@dataclass(frozen=True, slots=True)
class ScanResult:
    signals: ImageSignals
    matches: list[Match]


class Scanner:
    def __init__(self, matcher: Matcher, limits: DecodeLimits | None = None) -> None:
        self._matcher = matcher
        self._limits = limits or DecodeLimits()

    def hash(self, data: bytes) -> ImageSignals:
        """Query-side signals: PDQ in all eight dihedral forms, MD5, SHA-256, and keypoints for
        derived-fake search when a bank holds region signatures."""
        return compute_signals(
            data, self._limits, dihedral=True, features=self._matcher.wants_features()
        )

    def scan(self, data: bytes) -> ScanResult:
        return self.match(self.hash(data))

    def match(self, signals: ImageSignals) -> ScanResult:
        """Match query-side signals (from ``hash``, possibly computed in another process)."""
        return ScanResult(signals, self._matcher.match(QueryHashes.of(signals)))
