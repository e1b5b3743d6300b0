"""PdqIndex: the index a bank uses. Exact, incremental, with removals effective at once.

Layers: a static ``MultiIndexHash`` holding most codes, and a FAISS flat layer that takes new codes
as they come. When the flat layer grows past ``max(min_recent, main/4)`` it is sealed (still
searched, no longer added to), a fresh flat layer takes new codes, and a new static layer is built
from the old one's live codes plus the sealed layer. A search costs one sub-linear probe plus scans
of bounded flat layers.

Small rebuilds run inline. Big ones (``background_from`` codes and up: 10M codes take 14-22 s) run
in a thread, so adds and searches are not held up; removals made meanwhile apply to the old layers
at once and are replayed on the new static layer before it is published. Callers serialise their
own calls (the Matcher holds a lock); the only concurrency inside is that build thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from shieldwall.index.faiss_flat import FaissFlatIndex
from shieldwall.index.hamming import CodeArray, IdArray, as_codes, as_ids
from shieldwall.index.multi_index import MultiIndexHash

#: Below this many codes a flat scan is as fast as any index, so no static layer is built.
DEFAULT_MIN_RECENT = 20_000
#: Static layers of this many codes or more are rebuilt in a background thread (~0.3 s at 200k).
DEFAULT_BACKGROUND_FROM = 200_000


@dataclass(frozen=True, slots=True)
class _Layers:
    """What a search reads, swapped as one value so it never sees half a rebuild."""

    main: MultiIndexHash | None
    sealed: FaissFlatIndex | None
    recent: FaissFlatIndex


class PdqIndex:
    def __init__(
        self,
        min_recent: int = DEFAULT_MIN_RECENT,
        background_from: int = DEFAULT_BACKGROUND_FROM,
    ) -> None:
        self._min_recent = min_recent
        self._background_from = background_from
        self._layers = _Layers(None, None, FaissFlatIndex())
        self._swap_lock = threading.Lock()
        self._builder: threading.Thread | None = None
        self._removed_while_building: list[int] = []

    @classmethod
    def build(
        cls, ids: IdArray, codes: CodeArray, min_recent: int = DEFAULT_MIN_RECENT
    ) -> PdqIndex:
        """Bulk build (start-up): everything goes straight into the static layer."""
        index = cls(min_recent)
        ids, codes = as_ids(ids), as_codes(codes)
        if len(ids) > min_recent:
            index._layers = _Layers(MultiIndexHash(ids, codes), None, FaissFlatIndex())
        else:
            index._layers.recent.add(ids, codes)
        return index

    def add(self, ids: IdArray, codes: CodeArray) -> None:
        layers = self._layers
        layers.recent.add(ids, codes)
        main_size = len(layers.main) if layers.main is not None else 0
        if layers.sealed is None and len(layers.recent) > max(self._min_recent, main_size // 4):
            self.compact(background=main_size + len(layers.recent) >= self._background_from)

    def remove(self, ids: Iterable[int]) -> int:
        wanted = list(ids)
        with self._swap_lock:
            layers = self._layers
            gone = layers.recent.remove(wanted)
            if layers.sealed is not None:
                gone += layers.sealed.remove(wanted)
            if layers.main is not None:
                gone += layers.main.remove(wanted)
            if self._builder is not None:
                self._removed_while_building.extend(wanted)
        return gone

    def search(self, queries: CodeArray, radius: int) -> dict[int, int]:
        layers = self._layers  # one read: a consistent set of layers
        found = layers.recent.search(queries, radius)
        others = [layer for layer in (layers.sealed, layers.main) if layer is not None]
        for layer in others:
            for entry_id, distance in layer.search(queries, radius).items():
                found[entry_id] = min(distance, found.get(entry_id, distance))
        return found

    def compact(self, *, background: bool = False) -> None:
        """Seal the flat layer and merge it with the static one into a new static layer (dead
        rows dropped). With ``background`` the merge runs in a thread; see ``wait``."""
        self.wait()
        with self._swap_lock:
            old = self._layers
            self._layers = _Layers(old.main, old.recent, FaissFlatIndex())
            # Copy the live codes now: the thread then touches no layer that is being searched.
            ids, codes = old.recent.arrays()
            if old.main is not None:
                main_ids, main_codes = old.main.live_arrays()
                ids, codes = np.concatenate([main_ids, ids]), np.concatenate([main_codes, codes])
            self._removed_while_building = []
            builder = threading.Thread(
                target=self._merge, args=(ids, codes), name="pdq-compaction", daemon=True
            )
            self._builder = builder
        if background:
            builder.start()
        else:
            builder.run()

    def wait(self) -> None:
        """Block until a background rebuild, if any, has been published."""
        builder = self._builder
        if builder is not None and builder.is_alive():
            builder.join()

    def _merge(self, ids: IdArray, codes: CodeArray) -> None:
        merged = MultiIndexHash(ids, codes)
        with self._swap_lock:
            merged.remove(self._removed_while_building)
            self._layers = _Layers(merged, None, self._layers.recent)
            self._builder = None
            self._removed_while_building = []

    def __len__(self) -> int:
        layers = self._layers
        return sum(len(layer) for layer in (layers.main, layers.sealed, layers.recent) if layer)

    def nbytes(self) -> int:
        """Approximate memory of the arrays held (a flat layer counts 40 bytes per code)."""
        layers = self._layers
        main = layers.main.nbytes() if layers.main is not None else 0
        flat = sum(len(layer) for layer in (layers.sealed, layers.recent) if layer is not None)
        return main + 40 * flat
