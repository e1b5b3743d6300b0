"""Every index returns exactly what the brute-force reference returns, after any sequence of adds
and removals (Hypothesis), including codes planted near each other and clustered codes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.index import (
    BruteForceIndex,
    FaissFlatIndex,
    MultiIndexHash,
    PdqIndex,
    codes_from_hex,
)
from shieldwall.index.hamming import to_words
from shieldwall.index.multi_index import chunk_values


def near(code: np.ndarray, flips: list[int]) -> np.ndarray:
    out = code.copy()
    for bit in flips:
        out[bit // 8] ^= 1 << (7 - bit % 8)
    return out


@st.composite
def code_sets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Ids and codes: random seeds plus near-duplicates of them at assorted distances."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    bases = draw(st.integers(1, 12))
    base_codes = rng.integers(0, 256, (bases, 32), dtype=np.uint8)
    rows, ids = [], []
    for number in range(draw(st.integers(1, 60))):
        base = base_codes[rng.integers(0, bases)]
        distance = int(rng.choice([0, 1, 5, 15, 29, 31, 32, 33, 40, 64, 128]))
        rows.append(near(base, list(rng.choice(256, distance, replace=False))))
        ids.append(number // 3 if rng.random() < 0.5 else number)  # ids may own several codes
    return np.array(ids, dtype=np.int64), np.array(rows, dtype=np.uint8)


def make(kind: str, ids: np.ndarray, codes: np.ndarray):
    if kind == "multi":
        return MultiIndexHash(ids, codes)
    if kind == "pdq-static":
        return PdqIndex.build(ids, codes, min_recent=0)
    index = {"faiss": FaissFlatIndex, "pdq": lambda: PdqIndex(min_recent=8)}[kind]()
    index.add(ids, codes)
    return index


KINDS = ["faiss", "multi", "pdq", "pdq-static"]


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=60, deadline=None)
@given(
    data=code_sets(), radius=st.sampled_from([0, 8, 31, 32, 47, 63]), probe=st.integers(0, 10**6)
)
def test_search_equals_brute_force(kind: str, data, radius: int, probe: int) -> None:
    ids, codes = data
    reference = BruteForceIndex()
    reference.add(ids, codes)
    index = make(kind, ids, codes)
    rng = np.random.default_rng(probe)
    queries = np.concatenate(
        [
            near(codes[rng.integers(0, len(codes))], list(rng.choice(256, 20, replace=False)))[None]
            for _ in range(3)
        ]
    )
    assert index.search(queries, radius) == reference.search(queries, radius)
    assert index.search(queries[:1], radius) == reference.search(queries[:1], radius)
    assert len(index) == len(reference)


@pytest.mark.parametrize("kind", ["faiss", "pdq", "pdq-static", "multi"])
@settings(max_examples=40, deadline=None)
@given(
    data=code_sets(),
    steps=st.lists(
        st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 10**6)), max_size=12
    ),
)
def test_after_adds_and_removals(kind: str, data, steps) -> None:
    ids, codes = data
    reference = BruteForceIndex()
    reference.add(ids, codes)
    index = make(kind, ids, codes)
    next_id = int(ids.max()) + 1
    for action, seed in steps:
        rng = np.random.default_rng(seed)
        if action == "add" and kind != "multi":  # MultiIndexHash is static by design
            new_codes = np.array(
                [near(codes[rng.integers(0, len(codes))], list(rng.choice(256, 9, replace=False)))]
            )
            new_ids = np.array([next_id], dtype=np.int64)
            next_id += 1
            reference.add(new_ids, new_codes)
            index.add(new_ids, new_codes)
        else:
            victims = [int(rng.integers(0, next_id)) for _ in range(2)]
            assert index.remove(victims) == reference.remove(victims)
        query = near(codes[rng.integers(0, len(codes))], list(rng.choice(256, 12, replace=False)))
        assert index.search(query[None], 31) == reference.search(query[None], 31)
        assert len(index) == len(reference)


def test_multi_index_exact_on_larger_set_with_planted_neighbours() -> None:
    """Big enough that every chunk table is populated; neighbours planted at 0..31 bits."""
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, (60_000, 32), dtype=np.uint8)
    ids = np.arange(len(codes), dtype=np.int64)
    queries = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    planted = np.array(
        [
            near(q, list(rng.choice(256, d, replace=False)))
            for q, d in zip(queries, range(40), strict=True)
        ]
    )
    codes[:40] = planted
    index = MultiIndexHash(ids, codes)
    reference = BruteForceIndex()
    reference.add(ids, codes)
    for number, query in enumerate(queries):
        found = index.search(query[None], 31)
        assert found == reference.search(query[None], 31)
        assert (number in found) == (number <= 31)


def test_chunk_values_agree_with_integer_arithmetic() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    words = to_words(codes)
    for start, width in [(0, 16), (48, 16), (60, 8), (44, 22), (56, 21), (235, 21), (120, 32)]:
        expected = [
            (int.from_bytes(row.tobytes(), "big") >> (256 - start - width)) & ((1 << width) - 1)
            for row in codes
        ]
        assert chunk_values(words, start, width).tolist() == expected


def test_codes_from_hex_round_trip() -> None:
    values = ["00" * 32, "ff" * 32, "0123456789abcdef" * 4]
    codes = codes_from_hex(values)
    assert [row.tobytes().hex() for row in codes] == values


def test_removal_is_immediate_and_compaction_keeps_results() -> None:
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    index = PdqIndex(min_recent=50)
    for start in range(0, 300, 25):  # several compactions happen on the way
        index.add(np.arange(start, start + 25, dtype=np.int64), codes[start : start + 25])
    assert index.search(codes[10:11], 0) == {10: 0}
    index.remove([10])
    assert index.search(codes[10:11], 0) == {}
    index.compact()
    assert index.search(codes[10:11], 0) == {}
    assert index.search(codes[11:12], 0) == {11: 0}
    assert len(index) == 299


def test_background_compaction_keeps_every_answer_exact() -> None:
    """Adds and removals while a rebuild runs in its thread: every search stays equal to brute
    force before, during and after the new static layer is published."""
    rng = np.random.default_rng(21)
    codes = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    ids = np.arange(3000, dtype=np.int64)
    index = PdqIndex.build(ids[:1000], codes[:1000], min_recent=100)
    index._background_from = 0  # every rebuild in a thread
    reference = BruteForceIndex()
    reference.add(ids[:1000], codes[:1000])
    queries = [
        near(codes[int(i)], list(rng.choice(256, 10, replace=False)))[None]
        for i in rng.integers(0, 3000, 30)
    ]
    for start in range(1000, 3000, 50):
        batch = slice(start, start + 50)
        index.add(ids[batch], codes[batch])
        reference.add(ids[batch], codes[batch])
        victims = [int(v) for v in rng.integers(0, start + 50, 5)]
        assert index.remove(victims) == reference.remove(victims)
        for query in queries[:5]:
            assert index.search(query, 31) == reference.search(query, 31)
    index.wait()
    assert index._layers.sealed is None and index._layers.main is not None
    assert len(index) == len(reference)
    for query in queries:
        assert index.search(query, 31) == reference.search(query, 31)
