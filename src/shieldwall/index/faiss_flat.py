"""FAISS ``IndexBinaryFlat`` behind the HammingIndex protocol: incremental adds and removals,
exhaustive range search. Right for small sets and for the recent-additions layer of PdqIndex."""

from __future__ import annotations

from collections.abc import Iterable

import faiss
import numpy as np

from shieldwall.index.hamming import CODE_BITS, CodeArray, IdArray, as_codes, as_ids, best_per_id


class FaissFlatIndex:
    def __init__(self) -> None:
        self._index = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(CODE_BITS))

    def add(self, ids: IdArray, codes: CodeArray) -> None:
        ids, codes = as_ids(ids), as_codes(codes)
        if len(ids) != len(codes):
            raise ValueError("ids and codes differ in length")
        if len(ids):
            self._index.add_with_ids(codes, ids)

    def remove(self, ids: Iterable[int]) -> int:
        wanted = as_ids(list(ids))
        if not len(wanted) or not self._index.ntotal:
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(wanted)))

    def search(self, queries: CodeArray, radius: int) -> dict[int, int]:
        if not self._index.ntotal:
            return {}
        # FAISS binary range search keeps distances strictly under its radius.
        lims, dist, labels = self._index.range_search(as_codes(queries), radius + 1)
        del lims
        return best_per_id(labels.astype(np.int64), dist.astype(np.int64))

    def arrays(self) -> tuple[IdArray, CodeArray]:
        """Every (id, code) held, in insertion order."""
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        codes = self._index.index.reconstruct_n(0, self._index.ntotal)
        return ids, np.asarray(codes, dtype=np.uint8).reshape(-1, CODE_BITS // 8)

    def __len__(self) -> int:
        return int(self._index.ntotal)
