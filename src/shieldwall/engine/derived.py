"""Derived-fake search: which registered photos is a query made from?

1. Candidate search through the keypoint index: each query descriptor's ``NEIGHBOURS`` nearest
   registered descriptors within ``MAX_DESCRIPTOR_DISTANCE`` bits vote for their photos; a photo
   counts one vote per distinct query keypoint.
2. The ``CANDIDATES`` photos with the most votes (at least ``MIN_VOTES``) are verified
   geometrically (signals.region_match).
3. A candidate whose score reaches the threshold (the bank's region threshold,
   domain.DEFAULT_REGION_THRESHOLD unless the bank sets one) has its coarse layout compared with
   the query: it is a match unless its intact area (top and sides) differs in more than
   MAX_INTACT_CHANGE of its tiles.

The cost is one index lookup plus a few RANSAC fits, whatever the number of registered photos.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shieldwall.index import KeypointIndex
from shieldwall.signals import (
    MAX_INTACT_CHANGE,
    LayoutDiff,
    QueryFeatures,
    RegionFit,
    RegionSignature,
    compare_layout,
    fit_region,
)

NEIGHBOURS = 4
MAX_DESCRIPTOR_DISTANCE = 64
CANDIDATES = 6
MIN_VOTES = 6


@dataclass(frozen=True, slots=True)
class DerivedCandidate:
    entry_id: int
    votes: int
    fit: RegionFit
    layout: LayoutDiff


def find_derived(
    index: KeypointIndex,
    signatures: Mapping[int, RegionSignature],
    features: QueryFeatures,
    threshold: int,
    candidates: int = CANDIDATES,
) -> list[DerivedCandidate]:
    """Matches (score at least ``threshold``, intact area unchanged), best score first."""
    found = index.search(features.descriptors, NEIGHBOURS, MAX_DESCRIPTOR_DISTANCE)
    if len(found.entry_ids) == 0:
        return []
    # One vote per (photo, query keypoint).
    width = int(found.query_rows.max()) + 1
    pairs = np.unique(found.entry_ids * width + found.query_rows)
    entries, votes = np.unique(pairs // width, return_counts=True)
    order = np.argsort(-votes, kind="stable")[:candidates]
    out: list[DerivedCandidate] = []
    for position in order:
        if votes[position] < MIN_VOTES:
            break
        entry_id = int(entries[position])
        signature = signatures.get(entry_id)
        if signature is None:
            continue
        mine = found.entry_ids == entry_id
        fit = fit_region(signature, features, found.query_rows[mine], found.entry_rows[mine])
        if fit is None or fit.score < threshold:
            continue
        layout = compare_layout(signature, features, fit.matrix)
        if layout.intact_changed <= MAX_INTACT_CHANGE:
            out.append(DerivedCandidate(entry_id, int(votes[position]), fit, layout))
    out.sort(key=lambda c: -c.fit.score)
    return out
