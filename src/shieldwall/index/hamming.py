"""256-bit codes as arrays, and Hamming distance on them.

Codes travel as (N, 32) uint8 arrays (big-endian bytes of the hex string, as FAISS wants them) or
as (N, 4) uint64 words (native order) for popcount arithmetic. Ids are int64 (storage entry ids);
one id may own several codes (an entry's crop variants).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

CODE_BYTES = 32
CODE_BITS = 256

CodeArray = npt.NDArray[np.uint8]
WordArray = npt.NDArray[np.uint64]
IdArray = npt.NDArray[np.int64]


def codes_from_hex(values: Sequence[str]) -> CodeArray:
    """Hex strings (64 characters each) to an (N, 32) uint8 array."""
    if not values:
        return np.zeros((0, CODE_BYTES), dtype=np.uint8)
    raw = bytes.fromhex("".join(values))
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(values), CODE_BYTES).copy()


def as_codes(codes: npt.ArrayLike) -> CodeArray:
    array = np.ascontiguousarray(codes, dtype=np.uint8)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != CODE_BYTES:
        raise ValueError(f"codes must be (N, {CODE_BYTES}) uint8, got shape {array.shape}")
    return array


def as_ids(ids: npt.ArrayLike) -> IdArray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def to_words(codes: CodeArray) -> WordArray:
    """(N, 32) big-endian bytes -> (N, 4) native uint64 words, bit order preserved per word."""
    return np.ascontiguousarray(codes).view(">u8").astype(np.uint64)


def distances(words: WordArray, query_words: WordArray) -> npt.NDArray[np.int64]:
    """Hamming distance of each row of ``words`` to one query (4,) or row-paired queries (N, 4)."""
    result: npt.NDArray[np.int64] = np.bitwise_count(words ^ query_words).sum(
        axis=1, dtype=np.int64
    )
    return result


def best_per_id(ids: IdArray, dists: npt.NDArray[np.int64]) -> dict[int, int]:
    """Collapse (id, distance) hits to the smallest distance per id."""
    best: dict[int, int] = {}
    for entry_id, distance in zip(ids.tolist(), dists.tolist(), strict=True):
        if distance < best.get(entry_id, CODE_BITS + 1):
            best[entry_id] = distance
    return best


class HammingIndex(Protocol):
    """Range search over 256-bit codes. Every implementation passes the same contract tests and
    must return exactly what ``BruteForceIndex`` returns."""

    def add(self, ids: IdArray, codes: CodeArray) -> None:
        """Add codes, each owned by the id at the same position."""
        ...

    def remove(self, ids: Iterable[int]) -> int:
        """Remove every code owned by these ids; return how many codes went. Effective at once."""
        ...

    def search(self, queries: CodeArray, radius: int) -> dict[int, int]:
        """Ids with any code within ``radius`` (inclusive) of any query -> smallest distance."""
        ...

    def __len__(self) -> int:
        """Number of live codes."""
        ...
