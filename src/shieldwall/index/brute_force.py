"""The reference index: a numpy popcount scan over every live code. Slow, obviously right."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from shieldwall.index.hamming import (
    CodeArray,
    IdArray,
    WordArray,
    as_codes,
    as_ids,
    best_per_id,
    distances,
    to_words,
)


class BruteForceIndex:
    def __init__(self) -> None:
        self._ids: IdArray = np.zeros(0, dtype=np.int64)
        self._words: WordArray = np.zeros((0, 4), dtype=np.uint64)

    def add(self, ids: IdArray, codes: CodeArray) -> None:
        ids, codes = as_ids(ids), as_codes(codes)
        if len(ids) != len(codes):
            raise ValueError("ids and codes differ in length")
        self._ids = np.concatenate([self._ids, ids])
        self._words = np.concatenate([self._words, to_words(codes)])

    def remove(self, ids: Iterable[int]) -> int:
        gone = np.isin(self._ids, as_ids(list(ids)))
        self._ids, self._words = self._ids[~gone], self._words[~gone]
        return int(gone.sum())

    def search(self, queries: CodeArray, radius: int) -> dict[int, int]:
        best: dict[int, int] = {}
        for query in to_words(as_codes(queries)):
            dist = distances(self._words, query)
            hit = dist <= radius
            for entry_id, distance in best_per_id(self._ids[hit], dist[hit]).items():
                best[entry_id] = min(distance, best.get(entry_id, distance))
        return best

    def __len__(self) -> int:
        return len(self._ids)
