"""PdqIndex: the index a bank uses. Exact, incremental, with removals effective at once.

Two layers: a static ``MultiIndexHash`` holding most codes, and a FAISS flat layer that takes new
codes as they come. When the flat layer grows past ``max(min_recent, main/4)`` both are merged into
a new static layer, so a search costs one sub-linear probe plus a scan of a bounded layer.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from shieldwall.index.faiss_flat import FaissFlatIndex
from shieldwall.index.hamming import CodeArray, IdArray, as_codes, as_ids
from shieldwall.index.multi_index import MultiIndexHash

#: Below this many codes a flat scan is as fast as any index, so no static layer is built.
DEFAULT_MIN_RECENT = 20_000


class PdqIndex:
    def __init__(self, min_recent: int = DEFAULT_MIN_RECENT) -> None:
        self._min_recent = min_recent
        self._main: MultiIndexHash | None = None
        self._recent = FaissFlatIndex()

    @classmethod
    def build(
        cls, ids: IdArray, codes: CodeArray, min_recent: int = DEFAULT_MIN_RECENT
    ) -> PdqIndex:
        """Bulk build (start-up): everything goes straight into the static layer."""
        index = cls(min_recent)
        ids, codes = as_ids(ids), as_codes(codes)
        if len(ids) > min_recent:
            index._main = MultiIndexHash(ids, codes)
        else:
            index._recent.add(ids, codes)
        return index

    def add(self, ids: IdArray, codes: CodeArray) -> None:
        self._recent.add(ids, codes)
        main_size = len(self._main) if self._main is not None else 0
        if len(self._recent) > max(self._min_recent, main_size // 4):
            self.compact()

    def remove(self, ids: Iterable[int]) -> int:
        wanted = list(ids)
        gone = self._recent.remove(wanted)
        if self._main is not None:
            gone += self._main.remove(wanted)
        return gone

    def search(self, queries: CodeArray, radius: int) -> dict[int, int]:
        found = self._recent.search(queries, radius)
        if self._main is not None:
            for entry_id, distance in self._main.search(queries, radius).items():
                found[entry_id] = min(distance, found.get(entry_id, distance))
        return found

    def compact(self) -> None:
        """Merge the recent layer into a new static layer (and drop dead rows)."""
        recent_ids, recent_codes = self._recent.arrays()
        if self._main is not None:
            main_ids, main_codes = self._main.live_arrays()
            recent_ids = np.concatenate([main_ids, recent_ids])
            recent_codes = np.concatenate([main_codes, recent_codes])
        self._main = MultiIndexHash(recent_ids, recent_codes)
        self._recent = FaissFlatIndex()

    def __len__(self) -> int:
        return len(self._recent) + (len(self._main) if self._main is not None else 0)

    def nbytes(self) -> int:
        """Approximate memory of the arrays held (the flat layer counts 40 bytes per code)."""
        main = self._main.nbytes() if self._main is not None else 0
        return main + 40 * len(self._recent)
