"""KeypointIndex: nearest ORB descriptors per photo, flat and inverted-file, with removals."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.index import KeypointIndex


def descriptors(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, 32), dtype=np.uint8)


def brute_force(
    photos: dict[int, np.ndarray], query: np.ndarray, max_distance: int
) -> set[tuple[int, int, int]]:
    """(query row, entry, entry row) of every registered descriptor within max_distance."""
    out = set()
    for entry, codes in photos.items():
        bits = np.unpackbits(query[:, None, :] ^ codes[None, :, :], axis=2).sum(axis=2)
        for q, r in zip(*np.nonzero(bits <= max_distance), strict=True):
            out.add((int(q), entry, int(r)))
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(0, 9), max_size=5))
def test_flat_index_equals_brute_force_after_adds_and_removals(
    seed: int, removed: list[int]
) -> None:
    rng = np.random.default_rng(seed)
    photos = {entry: descriptors(rng, int(rng.integers(0, 40))) for entry in range(10)}
    index = KeypointIndex()
    index.add(photos.items())
    index.remove(removed)
    for entry in removed:
        photos.pop(entry, None)
    # Queries: noisy copies of registered descriptors (a few bits flipped) and random ones.
    known = np.concatenate([*photos.values(), np.zeros((0, 32), np.uint8)])
    noisy = known[: min(len(known), 20)].copy()
    noisy[:, 0] ^= rng.integers(0, 256, len(noisy), dtype=np.uint8)
    query = np.concatenate([noisy, descriptors(rng, 10)])
    k = 1000  # every neighbour
    found = index.search(query, k, 40)
    got = set(
        zip(
            found.query_rows.tolist(),
            found.entry_ids.tolist(),
            found.entry_rows.tolist(),
            strict=True,
        )
    )
    assert got == brute_force(photos, query, 40)
    assert len(index) == sum(len(c) for c in photos.values())


def test_inverted_file_finds_registered_descriptors_and_forgets_removed_ones() -> None:
    rng = np.random.default_rng(7)
    photos = {entry: descriptors(rng, 200) for entry in range(60)}
    index = KeypointIndex(ivf_min=5_000)
    index.add(list(photos.items())[:20])  # 4,000: still flat
    assert not index.inverted
    index.add(list(photos.items())[20:])  # crosses the limit: rebuilt as an inverted file
    assert index.inverted and len(index) == 12_000
    found = index.search(photos[33], 1, 0)
    assert set(found.entry_ids.tolist()) == {33}
    assert np.array_equal(np.sort(found.entry_rows), np.arange(200))
    index.remove([33])
    assert 33 not in index and len(index) == 11_800
    assert 33 not in set(index.search(photos[33], 4, 256).entry_ids.tolist())
    index.add([(33, photos[5])])  # re-adding an entry replaces it
    assert set(index.search(photos[5], 2, 0).entry_ids.tolist()) == {5, 33}


def test_empty_queries_and_index() -> None:
    index = KeypointIndex()
    assert len(index.search(descriptors(np.random.default_rng(1), 3), 4, 64).entry_ids) == 0
    index.add([(1, np.zeros((0, 32), np.uint8))])
    assert len(index.search(np.zeros((0, 32), np.uint8), 4, 64).entry_ids) == 0
