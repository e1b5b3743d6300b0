"""Exact multi-index hashing (Norouzi, Punjani & Fleet, 2012) over 256-bit codes, in numpy.

The 256 bits are cut into ``m`` chunks. Two codes within distance r differ in some chunk by at most
r // m bits (pigeonhole), so probing, in each chunk's table, every value within r // m bits of the
query's chunk finds every true neighbour; candidates are then checked with a full popcount. Unlike
FAISS ``IndexBinaryMultiHash`` the probe radius follows the query radius, so no neighbour is ever
missed, and the tables are flat CSR arrays (offsets + row numbers), ~4 bytes per code per chunk.

The index is static: built once from arrays, it supports removal through a tombstone mask. Adds go
to a small incremental layer, see ``PdqIndex``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from shieldwall.index.hamming import (
    CODE_BITS,
    CodeArray,
    IdArray,
    WordArray,
    as_codes,
    as_ids,
    best_per_id,
    to_words,
)

#: Chunk layouts by index size: (rows up to, chunk widths in bits). Wider chunks mean fewer
#: candidates but bigger tables (2**width offsets each), so wide ones only pay off for big sets.
_LAYOUTS: tuple[tuple[int, tuple[int, ...]], ...] = (
    (4_000_000, (16,) * 16),
    (2**62, (22,) * 4 + (21,) * 8),
)


@cache
def _flip_masks(width: int, flips: int) -> npt.NDArray[np.int64]:
    """Every XOR mask over ``width`` bits with at most ``flips`` bits set."""
    masks = [0]
    for count in range(1, min(flips, width) + 1):
        for bits in itertools.combinations(range(width), count):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


def chunk_layout(rows: int) -> tuple[int, ...]:
    for upto, widths in _LAYOUTS:
        if rows <= upto:
            return widths
    raise AssertionError("unreachable: the last layout has no bound")


def chunk_values(words: WordArray, start: int, width: int) -> npt.NDArray[np.int64]:
    """The ``width``-bit value at bit ``start`` (0 = most significant) of each code."""
    word, offset = divmod(start, 64)
    if offset + width <= 64:
        shifted = words[:, word] >> np.uint64(64 - offset - width)
        return (shifted & np.uint64((1 << width) - 1)).astype(np.int64)
    high_bits = 64 - offset
    low_bits = width - high_bits
    high = (words[:, word] & np.uint64((1 << high_bits) - 1)) << np.uint64(low_bits)
    low = words[:, word + 1] >> np.uint64(64 - low_bits)
    return (high | low).astype(np.int64)


def _bucket_order(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int32]:
    """Row numbers sorted by chunk value: an LSD radix sort in 16-bit passes (numpy sorts 16-bit
    keys by radix, 2-3x faster than a comparison sort of 10M wider keys)."""
    order = np.argsort((values & 0xFFFF).astype(np.uint16), kind="stable")
    if width > 16:
        high = (values[order] >> 16).astype(np.uint16)
        order = order[np.argsort(high, kind="stable")]
    return order.astype(np.int32)


@dataclass(frozen=True, slots=True)
class _Chunk:
    start: int
    width: int
    table_base: int  # where this chunk's offsets begin in the shared offsets array


class MultiIndexHash:
    """Static exact range-search index; ``remove`` marks codes dead, ``search`` skips them."""

    def __init__(self, ids: IdArray, codes: CodeArray) -> None:
        ids, codes = as_ids(ids), as_codes(codes)
        if len(ids) != len(codes):
            raise ValueError("ids and codes differ in length")
        order = np.argsort(ids, kind="stable")  # sorted ids make removal a binary search
        self._ids: IdArray = ids[order]
        self._words: WordArray = to_words(codes[order])
        self._alive = np.ones(len(ids), dtype=bool)
        self._live = len(ids)
        rows = len(ids)
        self._chunks: list[_Chunk] = []
        self._plans: dict[
            int, tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.int64]]
        ] = {}
        offsets_parts: list[npt.NDArray[np.int64]] = []
        rows_parts: list[npt.NDArray[np.int32]] = []
        start = base = 0
        for number, width in enumerate(chunk_layout(rows)):
            values = chunk_values(self._words, start, width)
            counts = np.bincount(values, minlength=1 << width)
            offsets = np.zeros((1 << width) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            offsets_parts.append(offsets + number * rows)
            rows_parts.append(_bucket_order(values, width))
            self._chunks.append(_Chunk(start, width, base))
            start += width
            base += len(offsets)
        assert start == CODE_BITS
        offset_type = np.int32 if len(self._chunks) * rows < 2**31 else np.int64
        self._offsets = np.concatenate(offsets_parts).astype(offset_type)
        self._rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, np.int32)

    def add(self, ids: IdArray, codes: CodeArray) -> None:
        raise TypeError("MultiIndexHash is static; add through PdqIndex, which rebuilds it")

    def remove(self, ids: Iterable[int]) -> int:
        gone = 0
        for entry_id in as_ids(list(ids)).tolist():
            lo = int(np.searchsorted(self._ids, entry_id, side="left"))
            hi = int(np.searchsorted(self._ids, entry_id, side="right"))
            if hi > lo:
                gone += int(self._alive[lo:hi].sum())
                self._alive[lo:hi] = False
        self._live -= gone
        return gone

    def live_arrays(self) -> tuple[IdArray, CodeArray]:
        """The live (ids, codes), e.g. to rebuild a bigger index with more rows."""
        words = self._words[self._alive]
        codes = words.astype(">u8").view(np.uint8).reshape(len(words), 32)
        return self._ids[self._alive], codes

    def search(self, queries: CodeArray, radius: int) -> dict[int, int]:
        if not self._live or radius < 0:
            return {}
        query_codes = as_codes(queries)
        masks, chunk_of, base_of = self._probe_plan(radius // len(self._chunks))
        # Chunk values of the few query codes: plain integer arithmetic beats numpy calls here.
        values = np.array(
            [
                [
                    (number >> (CODE_BITS - c.start - c.width)) & ((1 << c.width) - 1)
                    for c in self._chunks
                ]
                for number in (int.from_bytes(row.tobytes(), "big") for row in query_codes)
            ],
            dtype=np.int64,
        )
        probes = ((values[:, chunk_of] ^ masks) + base_of).reshape(-1)
        starts = self._offsets[probes].astype(np.int64)
        lengths = self._offsets[probes + 1].astype(np.int64) - starts
        total = int(lengths.sum())
        if not total:
            return {}
        # Expand the [start, start + length) runs into one array of positions, without a loop.
        run_begins = np.cumsum(lengths) - lengths
        positions = np.repeat(starts - run_begins, lengths) + np.arange(total)
        candidates = np.take(self._rows, positions)
        xor = np.take(self._words, candidates, axis=0)
        query_words = to_words(query_codes)
        if len(query_codes) == 1:
            xor ^= query_words[0]
        else:
            owners = np.repeat(np.arange(len(query_codes)).repeat(len(masks)), lengths)
            xor ^= np.take(query_words, owners, axis=0)
        counts = np.bitwise_count(xor)
        dist = counts[:, 0].astype(np.int64) + counts[:, 1] + counts[:, 2] + counts[:, 3]
        hit = (dist <= radius) & np.take(self._alive, candidates)
        return best_per_id(np.take(self._ids, candidates[hit]), dist[hit])

    def _probe_plan(
        self, flips: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """For a per-chunk flip budget: every probe's XOR mask, chunk number and table base."""
        plan = self._plans.get(flips)
        if plan is None:
            per_chunk = [_flip_masks(c.width, flips) for c in self._chunks]
            plan = (
                np.concatenate(per_chunk),
                np.concatenate(
                    [np.full(len(m), i, dtype=np.intp) for i, m in enumerate(per_chunk)]
                ),
                np.concatenate(
                    [
                        np.full(len(m), c.table_base, np.int64)
                        for c, m in zip(self._chunks, per_chunk, strict=True)
                    ]
                ),
            )
            self._plans[flips] = plan
        return plan

    def __len__(self) -> int:
        return self._live

    def nbytes(self) -> int:
        """Memory held by the arrays (what 'bytes per hash' counts)."""
        return int(
            self._ids.nbytes
            + self._words.nbytes
            + self._alive.nbytes
            + self._offsets.nbytes
            + self._rows.nbytes
        )
