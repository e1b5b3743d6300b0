"""KeypointIndex: nearest binary descriptors (ORB, 256 bits) over many registered photos.

Each registered photo contributes up to a few hundred descriptors. A query's descriptors are looked
up all at once; every neighbour within ``max_distance`` is a vote for the photo it came from, and a
correspondence (query keypoint, registered keypoint) that the verifier then checks geometrically.

Small collections are searched exhaustively (FAISS IndexBinaryFlat); from ``IVF_MIN`` descriptors
on, the index is rebuilt as an inverted file (IndexBinaryIVF: the descriptors are clustered, and a
query scans only the ``nprobe`` nearest clusters), which keeps a lookup sublinear in the number of
photos; it is retrained whenever the collection has grown fourfold. Additions go into the current
index; removals are immediate (a photo's rows are dropped from the index before ``remove``
returns). A retraining runs inside ``add`` (about 2 s at 1M descriptors, i.e. 4,000 photos).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import faiss
import numpy as np
import numpy.typing as npt

#: From this many descriptors on, the index is an inverted file rather than a flat scan.
IVF_MIN = 60_000
#: Clusters scanned per descriptor in the inverted file.
NPROBE = 4
#: The inverted file is retrained when the collection has grown this many times since training.
GROWTH_BEFORE_RETRAIN = 4
#: Clusters per square root of the number of descriptors.
LISTS_PER_ROOT = 2.0
#: Descriptors sampled per cluster to train the inverted file, and k-means rounds.
TRAIN_PER_LIST = 16
TRAIN_ROUNDS = 8

U8Array = npt.NDArray[np.uint8]
I64Array = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Neighbours:
    """Flattened search result: for each hit, the query descriptor's row, the photo's entry id,
    the registered descriptor's row within that photo, and the Hamming distance."""

    query_rows: I64Array
    entry_ids: I64Array
    entry_rows: I64Array
    distances: I64Array


class KeypointIndex:
    def __init__(self, ivf_min: int = IVF_MIN) -> None:
        """``ivf_min``: descriptors from which the index becomes an inverted file."""
        self._ivf_min = ivf_min
        self._index = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(256))
        self._ivf = False
        self._entry_rows: dict[int, I64Array] = {}
        # The caller's descriptor arrays (references, not copies): what a rebuild re-reads.
        self._codes: dict[int, U8Array] = {}
        self._trained_at = 0
        self._next = 0
        self._live = 0
        # Row id -> entry id and row within the entry. Row ids are never reused.
        self._owner = np.zeros(0, dtype=np.int64)
        self._within = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        """Live descriptors."""
        return self._live

    def __contains__(self, entry_id: int) -> bool:
        return entry_id in self._entry_rows

    @property
    def inverted(self) -> bool:
        return self._ivf

    def add(self, items: Iterable[tuple[int, U8Array]]) -> None:
        """Add (entry id, descriptors (n, 32) uint8) pairs. An entry already present is replaced."""
        batch_ids: list[I64Array] = []
        batch_codes: list[U8Array] = []
        owners: list[I64Array] = []
        within: list[I64Array] = []
        for entry_id, descriptors in items:
            if entry_id in self._entry_rows:
                self.remove([entry_id])
            n = len(descriptors)
            ids = np.arange(self._next, self._next + n, dtype=np.int64)
            self._next += n
            self._entry_rows[entry_id] = ids
            codes = np.ascontiguousarray(descriptors, dtype=np.uint8).reshape(n, 32)
            self._codes[entry_id] = codes
            owners.append(np.full(n, entry_id, dtype=np.int64))
            within.append(np.arange(n, dtype=np.int64))
            batch_ids.append(ids)
            batch_codes.append(codes)
        if not batch_ids:
            return
        ids = np.concatenate(batch_ids)
        self._owner = _put(self._owner, ids, np.concatenate(owners))
        self._within = _put(self._within, ids, np.concatenate(within))
        self._live += len(ids)
        if self._live >= self._ivf_min and self._live >= GROWTH_BEFORE_RETRAIN * self._trained_at:
            self._rebuild_inverted()
        else:
            self._index.add_with_ids(np.concatenate(batch_codes), ids)

    def remove(self, entry_ids: Iterable[int]) -> None:
        rows = []
        for entry_id in entry_ids:
            if entry_id in self._entry_rows:
                rows.append(self._entry_rows.pop(entry_id))
                del self._codes[entry_id]
        if rows:
            ids = np.concatenate(rows)
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            self._live -= len(ids)

    def search(self, descriptors: U8Array, k: int, max_distance: int) -> Neighbours:
        """The ``k`` nearest registered descriptors of each query descriptor, kept when within
        ``max_distance`` bits."""
        empty = np.zeros(0, dtype=np.int64)
        if len(descriptors) == 0 or self._live == 0:
            return Neighbours(empty, empty, empty, empty)
        distances, ids = self._index.search(np.ascontiguousarray(descriptors), k)
        keep = (ids >= 0) & (distances <= max_distance)
        query_rows = np.nonzero(keep)[0].astype(np.int64)
        hit_ids = ids[keep]
        return Neighbours(
            query_rows,
            self._owner[hit_ids],
            self._within[hit_ids],
            distances[keep].astype(np.int64),
        )

    def nbytes(self) -> int:
        """Approximate resident bytes: descriptors with their ids and the row maps."""
        return self._live * (32 + 8) + self._owner.nbytes + self._within.nbytes

    def _rebuild_inverted(self) -> None:
        """Put every live descriptor into a freshly trained inverted file (when the collection
        first reaches ``ivf_min``, and again each time it has grown GROWTH_BEFORE_RETRAIN-fold, so
        the lists stay short)."""
        entries = list(self._entry_rows)
        all_ids = np.concatenate([self._entry_rows[e] for e in entries])
        all_codes = np.concatenate([self._codes[e] for e in entries])
        nlist = max(64, int(LISTS_PER_ROOT * math.sqrt(len(all_ids))))
        quantizer = faiss.IndexBinaryFlat(256)
        ivf = faiss.IndexBinaryIVF(quantizer, 256, nlist)
        ivf.nprobe = NPROBE
        ivf.cp.niter = TRAIN_ROUNDS
        ivf.cp.min_points_per_centroid = TRAIN_PER_LIST // 2  # a small sample is enough here
        rng = np.random.default_rng(0)
        sample = rng.choice(len(all_codes), min(len(all_codes), nlist * TRAIN_PER_LIST), False)
        ivf.train(all_codes[np.sort(sample)])
        index = faiss.IndexBinaryIDMap2(ivf)
        index.add_with_ids(all_codes, all_ids)
        self._index = index
        self._quantizer = quantizer  # keep alive: the IVF holds a raw pointer to it
        self._ivf_index = ivf
        self._ivf = True
        self._trained_at = len(all_ids)


def _put(table: I64Array, rows: I64Array, values: I64Array) -> I64Array:
    """``table[rows] = values``, growing the table geometrically (adds one photo at a time stay
    amortised O(1) per row)."""
    if len(rows) == 0:
        return table
    need = int(rows.max()) + 1
    if need > len(table):
        grown = np.zeros(max(need, 2 * len(table)), dtype=np.int64)
        grown[: len(table)] = table
        table = grown
    table[rows] = values
    return table
