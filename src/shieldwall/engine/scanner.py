"""Scanner: image bytes in, signals and matches out. The bytes are not kept."""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.domain import Match
from shieldwall.engine.matcher import Matcher, QueryHashes
from shieldwall.media import DecodedImage, DecodeLimits
from shieldwall.signals import (
    ImageSignals,
    compute_signals,
    decode_for_signals,
    signals_of_image,
)


@dataclass(frozen=True, slots=True)
class ScanResult:
    signals: ImageSignals
    matches: list[Match]


class Scanner:
    def __init__(self, matcher: Matcher, limits: DecodeLimits | None = None) -> None:
        self.matcher = matcher
        self._limits = limits or DecodeLimits()

    def hash(self, data: bytes) -> ImageSignals:
        """Query-side signals: PDQ in all eight dihedral forms, MD5, SHA-256, and keypoints for
        derived-fake search when a bank holds region signatures."""
        return compute_signals(
            data, self._limits, dihedral=True, features=self.matcher.wants_features()
        )

    def decode(self, data: bytes) -> DecodedImage:
        """Decode once (long side at most 512 px) for ``hash_image`` and a classifier."""
        return decode_for_signals(data, self._limits)

    def hash_image(self, image: DecodedImage, data: bytes) -> ImageSignals:
        """``hash`` for an image ``decode`` made from ``data``."""
        return signals_of_image(image, data, dihedral=True, features=self.matcher.wants_features())

    def scan(self, data: bytes) -> ScanResult:
        return self.match(self.hash(data))

    def match(self, signals: ImageSignals) -> ScanResult:
        """Match query-side signals (from ``hash``, possibly computed in another process)."""
        return ScanResult(signals, self.matcher.match(QueryHashes.of(signals)))
