"""Benchmark exact PDQ range search: every code within Hamming distance 31 of a query hash.

Compares, in one run, one method at a time, each in its own process on one thread:

* ``shieldwall``   -- ours: ``PdqIndex.build`` (a static ``MultiIndexHash``).
* ``tx-pdqindex``  -- python-threatexchange ``PdqSignal.get_index_cls()`` (``pdq_index.PDQIndex``:
  FAISS ``IndexBinaryMultiHash`` in an ``IndexBinaryIDMap2``, nflip = 31 // 16), queried through
  ``PDQIndex.query`` as HMA does.
* ``tx-pdqindex2`` -- python-threatexchange ``pdq_index2.PDQIndex2`` (FAISS ``IndexFlatL2`` over
  256 float32 bit values), its intended replacement.
* ``faiss-flat``   -- FAISS ``IndexBinaryFlat.range_search``.
* ``faiss-mih``    -- FAISS ``IndexBinaryMultiHash(256, 16, 16)``, ``nflip = 1``.

FAISS binary range search keeps distances strictly below its radius, so FAISS gets 32.

Datasets:

* ``random`` -- uniform random codes; for each query 4 codes planted at distances cycling through
  0..31 and 2 decoys at 32 and 33 (which must not come back).
* ``real``   -- PDQ hashes of augmented corpus photos (random crops of 50-100% per side, rescales,
  flips, small rotations, brightness and contrast), cached under ``bench/.cache``; above that count
  the set is filled with copies of those hashes with 1-6 random bits flipped. Queries are held-out
  augmentations (other random draws, not in the index).

Each method runs in its own subprocess, so its resident-memory delta is its own and memory is
returned between methods. Recall is checked against a numpy popcount scan over all codes for the
first ``--check`` queries: a miss is a code within 31 not returned, an extra is a result that is
not within 31. A method whose run at a smaller size projects past ``--max-gb`` or
``--max-method-s`` at a bigger one is reported as not run, with the projection.

Run from the repository root, e.g.::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/lookup.py --sizes 1M,10M

The photo corpus is read from ``$SHIELDWALL_BENCH_PHOTOS`` (default ``../shared/data/photos``
relative to the repository root).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageEnhance

from corpus import CACHE as CACHE_DIR
from corpus import corpus, photos_folder
from machine import cpu_model, memory_gib
from reporting import produced_by

DEFAULT_OUT = CACHE_DIR / "lookup_results.md"  # copied by hand into bench/RESULTS.md
RADIUS = 31  # PDQ's confident-match threshold, inclusive
CODE_BYTES = 32
PDQ_MAX_SIDE = 512  # images are reduced to this long side before PDQ (as shieldwall does)
SOURCE_MAX_SIDE = 768  # photos are decoded to this long side once, then augmented
AUGMENT_VERSION = 1  # bump when the augmentations change, to invalidate the cached hashes
HELD_OUT_QUERIES = 1000  # real query hashes computed (and cached) once; --queries takes a prefix
PLANTED = 4  # neighbours planted per random-dataset query, at distances cycling through 0..31
DECOYS = (RADIUS + 1, RADIUS + 2)  # planted just outside the radius: must not be returned
WARMUP_QUERIES = 5
METHOD_NAMES = ("shieldwall", "tx-pdqindex", "tx-pdqindex2", "faiss-flat", "faiss-mih")
DATASETS = ("random", "real")

Codes = npt.NDArray[np.uint8]
Rows = npt.NDArray[np.int64]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_size(text: str) -> int:
    multiplier = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if multiplier > 1 else text) * multiplier)


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


# --- Real PDQ hashes of augmented photos ------------------------------------------------------


def _bounded(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image


def _augment(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One random edit of the kind re-posts show; returns an image at most 512 px long."""
    width, height = image.size
    if rng.random() < 0.8:  # crop 50-100% of each side, at a random position
        crop_w = max(1, int(width * rng.uniform(0.5, 1.0)))
        crop_h = max(1, int(height * rng.uniform(0.5, 1.0)))
        left = int(rng.integers(0, width - crop_w + 1))
        top = int(rng.integers(0, height - crop_h + 1))
        image = image.crop((left, top, left + crop_w, top + crop_h))
    # Half are rescaled to a smaller copy (128-512 px long side), the rest just bounded to 512.
    image = _bounded(image, int(rng.integers(128, 513)) if rng.random() < 0.5 else PDQ_MAX_SIDE)
    if rng.random() < 0.3:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < 0.3:
        image = image.rotate(float(rng.uniform(-5.0, 5.0)), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        image = ImageEnhance.Brightness(image).enhance(float(rng.uniform(0.7, 1.3)))
    if rng.random() < 0.5:
        image = ImageEnhance.Contrast(image).enhance(float(rng.uniform(0.7, 1.3)))
    return image


def _hash_task(task: tuple[str, int, tuple[int, ...]]) -> tuple[Codes, npt.NDArray[np.uint8]]:
    """Worker: ``count`` augmentations of one photo -> (count, 32) PDQ codes and qualities."""
    import pdqhash

    path, count, seed = task
    rng = np.random.default_rng(seed)
    with Image.open(path) as raw:
        raw.draft("RGB", (SOURCE_MAX_SIDE, SOURCE_MAX_SIDE))
        source = _bounded(raw.convert("RGB"), SOURCE_MAX_SIDE)
    codes = np.empty((count, CODE_BYTES), dtype=np.uint8)
    quality = np.empty(count, dtype=np.uint8)
    for i in range(count):
        pixels = np.ascontiguousarray(np.asarray(_augment(source, rng), dtype=np.uint8))
        bits, quality[i] = pdqhash.compute(pixels)
        codes[i] = np.packbits(np.asarray(bits, dtype=np.uint8))
    return codes, quality


def real_hashes(count: int, queries: int, seed: int, workers: int) -> dict[str, np.ndarray]:
    """(codes, photo, quality) for ``count`` index hashes and ``queries`` held-out query hashes,
    computed once with ``workers`` processes and cached as .npy files."""
    prefix = CACHE_DIR / f"real_v{AUGMENT_VERSION}_n{count}_q{queries}_s{seed}"
    names = ("codes", "photo", "quality", "query_codes", "query_photo")
    paths = {name: Path(f"{prefix}_{name}.npy") for name in names}
    if all(path.exists() for path in paths.values()):
        return {name: np.load(path) for name, path in paths.items()}
    photos = corpus()
    if not photos:
        raise SystemExit(f"no photos in {photos_folder()} (set SHIELDWALL_BENCH_PHOTOS)")
    rng = np.random.default_rng([seed, 1])
    per_photo = np.full(len(photos), count // len(photos))
    per_photo[: count % len(photos)] += 1
    query_photos = np.sort(rng.integers(0, len(photos), size=queries))
    query_counts = np.bincount(query_photos, minlength=len(photos))
    tasks: list[tuple[str, int, tuple[int, ...]]] = []
    owners: list[tuple[bool, int]] = []  # (is a query task, photo number)
    for number, path in enumerate(photos):
        # Index hashes in chunks of <= 200 (load balance); queries draw from another seed stream.
        for chunk, start in enumerate(range(0, int(per_photo[number]), 200)):
            size = min(200, int(per_photo[number]) - start)
            tasks.append((str(path), size, (seed, 2, number, chunk)))
            owners.append((False, number))
        if query_counts[number]:
            tasks.append((str(path), int(query_counts[number]), (seed, 3, number)))
            owners.append((True, number))
    log(
        f"hashing {count} augmentations + {queries} held-out queries of {len(photos)} photos "
        f"({workers} workers)"
    )
    started = time.perf_counter()
    parts: dict[bool, list[tuple[Codes, npt.NDArray[np.uint8], int]]] = {False: [], True: []}
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        done = 0
        for (is_query, number), (codes, quality) in zip(
            owners, pool.imap(_hash_task, tasks, chunksize=1), strict=True
        ):
            parts[is_query].append((codes, quality, number))
            done += len(codes)
            if len(parts[False]) % 100 == 0 and not is_query:
                rate = done / (time.perf_counter() - started)
                log(f"  {done} hashes, {rate:.0f}/s, ~{(count + queries - done) / rate:.0f} s left")
    log(f"hashed in {time.perf_counter() - started:.0f} s")
    result = {
        "codes": np.concatenate([p[0] for p in parts[False]]),
        "photo": np.concatenate([np.full(len(p[0]), p[2], np.int32) for p in parts[False]]),
        "quality": np.concatenate([p[1] for p in parts[False]]),
        "query_codes": np.concatenate([p[0] for p in parts[True]]),
        "query_photo": np.concatenate([np.full(len(p[0]), p[2], np.int32) for p in parts[True]]),
    }
    # Queries were made photo by photo; shuffle so any prefix covers many photos.
    order = np.random.default_rng([seed, 4]).permutation(len(result["query_codes"]))
    result["query_codes"] = result["query_codes"][order]
    result["query_photo"] = result["query_photo"][order]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for name, path in paths.items():
        np.save(path, result[name])
    return result


# --- Datasets ---------------------------------------------------------------------------------


def flip_bits(codes: Codes, flips: npt.NDArray[np.int64], rng: np.random.Generator) -> None:
    """Flip ``flips[i]`` distinct random bits of row ``i`` of ``codes``, in place."""
    most = int(flips.max(initial=0))
    positions = rng.integers(0, 256, size=(len(codes), most))
    while True:  # redraw the rows whose positions repeat (rare) until all are distinct
        ordered = np.sort(positions, axis=1)
        clash = np.flatnonzero((np.diff(ordered, axis=1) == 0).any(axis=1))
        if not len(clash):
            break
        positions[clash] = rng.integers(0, 256, size=(len(clash), most))
    rows = np.arange(len(codes))
    for j in range(most):
        take = flips > j
        bit = positions[take, j]
        codes[rows[take], bit >> 3] ^= (128 >> (bit & 7)).astype(np.uint8)


def random_dataset(n: int, queries: int, seed: int) -> tuple[Codes, Codes]:
    """Uniform codes with, per query, PLANTED neighbours at 0..31 and decoys at 32 and 33."""
    rng = np.random.default_rng([seed, 10, n])
    query_codes = rng.integers(0, 256, size=(queries, CODE_BYTES), dtype=np.uint8)
    per_query = PLANTED + len(DECOYS)
    distances = np.array(
        [
            [(PLANTED * q + j) % (RADIUS + 1) for j in range(PLANTED)] + list(DECOYS)
            for q in range(queries)
        ]
    ).reshape(-1)
    planted = np.repeat(query_codes, per_query, axis=0)
    flip_bits(planted, distances, rng)
    codes = rng.integers(0, 256, size=(n, CODE_BYTES), dtype=np.uint8)
    codes[rng.choice(n, size=len(planted), replace=False)] = planted
    return codes, query_codes


def real_dataset(n: int, base: Codes, seed: int) -> Codes:
    """The real hashes, then (above their count) copies of them with 1-6 bits flipped."""
    rng = np.random.default_rng([seed, 20, n])
    if n <= len(base):
        return base[rng.permutation(len(base))[:n]]
    codes = np.empty((n, CODE_BYTES), dtype=np.uint8)
    codes[: len(base)] = base
    step = 1_000_000
    for start in range(len(base), n, step):
        stop = min(n, start + step)
        chunk = base[np.arange(start - len(base), stop - len(base)) % len(base)]
        flip_bits(chunk, rng.integers(1, 7, size=len(chunk)), rng)
        codes[start:stop] = chunk
    return codes[rng.permutation(n)]


def brute_force(codes: Codes, queries: Codes, radius: int = RADIUS) -> list[Rows]:
    """Rows within ``radius`` of each query, by a full popcount scan (the ground truth)."""
    words = queries.view(">u8").astype(np.uint64)
    hits: list[list[Rows]] = [[] for _ in queries]
    step = 1_000_000
    for start in range(0, len(codes), step):
        block = codes[start : start + step].view(">u8").astype(np.uint64)
        for q, query in enumerate(words):
            dist = np.bitwise_count(block ^ query).sum(axis=1, dtype=np.uint16)
            hits[q].append(np.flatnonzero(dist <= radius).astype(np.int64) + start)
    return [np.concatenate(parts) for parts in hits]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A dataset written to disk for the method subprocesses, with its ground truth."""

    dataset: str
    n: int
    codes_path: Path
    queries_path: Path
    truth: list[Rows]


def prepare(dataset: str, n: int, args: argparse.Namespace) -> Prepared:
    stem = CACHE_DIR / f"{dataset}_{size_label(n)}_q{args.queries}_s{args.seed}"
    if dataset == "real":
        stem = Path(f"{stem}_b{args.real_hashes}_v{AUGMENT_VERSION}")
    codes_path, queries_path = Path(f"{stem}_codes.npy"), Path(f"{stem}_queries.npy")
    truth_path = Path(f"{stem}_truth{args.check}.npz")
    if not (codes_path.exists() and queries_path.exists()):
        log(f"building dataset {dataset} N={size_label(n)}")
        if dataset == "random":
            codes, queries = random_dataset(n, args.queries, args.seed)
        else:
            real = real_hashes(args.real_hashes, HELD_OUT_QUERIES, args.seed, args.workers)
            codes = real_dataset(n, real["codes"], args.seed)
            queries = real["query_codes"][: args.queries]
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.save(codes_path, codes)
        np.save(queries_path, queries)
        del codes
    if truth_path.exists():
        with np.load(truth_path) as saved:
            truth = np.split(saved["rows"], saved["offsets"][1:-1])
    else:
        log(f"ground truth: popcount scan of N={size_label(n)} for {args.check} queries")
        started = time.perf_counter()
        truth = brute_force(np.load(codes_path), np.load(queries_path)[: args.check])
        offsets = np.cumsum([0] + [len(rows) for rows in truth])
        np.savez(truth_path, rows=np.concatenate(truth), offsets=offsets)
        log(f"  done in {time.perf_counter() - started:.0f} s")
    gc.collect()
    return Prepared(dataset, n, codes_path, queries_path, truth)


# --- Methods (run inside a child process) -----------------------------------------------------


class Method(Protocol):
    def load(self, codes: Codes) -> None:
        """Untimed input preparation (e.g. hex strings); its memory counts if the index keeps it."""

    def build(self) -> None: ...

    def release_inputs(self) -> None: ...

    def prepare_query(self, code: Codes) -> Any: ...

    def query(self, query: Any) -> Any:
        """One single-hash lookup at RADIUS through the method's own API (the timed part)."""

    def result_rows(self, answer: Any) -> Rows: ...

    def nbytes(self) -> int | None: ...


class Shieldwall:
    def __init__(self) -> None:
        from shieldwall.index import PdqIndex  # imported here: before the memory baseline

        self._index_cls = PdqIndex

    def load(self, codes: Codes) -> None:
        self._ids, self._codes = np.arange(len(codes), dtype=np.int64), codes

    def build(self) -> None:
        self._index = self._index_cls.build(self._ids, self._codes)

    def release_inputs(self) -> None:
        del self._ids, self._codes

    def prepare_query(self, code: Codes) -> Any:
        return code.reshape(1, CODE_BYTES)

    def query(self, query: Any) -> Any:
        return self._index.search(query, RADIUS)

    def result_rows(self, answer: Any) -> Rows:
        return np.fromiter(answer, dtype=np.int64, count=len(answer))

    def nbytes(self) -> int | None:
        return int(self._index.nbytes())


class FaissFlat:
    def _make(self) -> Any:
        import faiss

        return faiss.IndexBinaryFlat(CODE_BYTES * 8)

    def load(self, codes: Codes) -> None:
        self._codes = codes

    def build(self) -> None:
        self._index = self._make()
        self._index.add(self._codes)

    def release_inputs(self) -> None:
        del self._codes

    def prepare_query(self, code: Codes) -> Any:
        return np.ascontiguousarray(code.reshape(1, CODE_BYTES))

    def query(self, query: Any) -> Any:
        return self._index.range_search(query, RADIUS + 1)  # FAISS: strictly below the radius

    def result_rows(self, answer: Any) -> Rows:
        return np.asarray(answer[2], dtype=np.int64)

    def nbytes(self) -> int | None:
        return None


class FaissMultiHash(FaissFlat):
    def _make(self) -> Any:
        import faiss

        index = faiss.IndexBinaryMultiHash(CODE_BYTES * 8, 16, 16)
        index.nflip = 1
        return index


def enumerate_hex(hexes: list[str]) -> Iterator[tuple[str, int]]:
    """(hash, entry) pairs as HMA passes them; the entry is the row number."""
    return ((text, row) for row, text in enumerate(hexes))


class ThreatExchange:
    """python-threatexchange's PDQ index, built and queried as HMA does: hex strings in, entries
    (here: row numbers) out."""

    def __init__(self, version_2: bool) -> None:
        from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2
        from threatexchange.signal_type.pdq.signal import PdqSignal

        self._index_cls: Any = PDQIndex2 if version_2 else PdqSignal.get_index_cls()

    def load(self, codes: Codes) -> None:
        self._hex: list[str] = []
        for start in range(0, len(codes), 100_000):  # in slices: no 640 MB string at 10M
            text = codes[start : start + 100_000].tobytes().hex()
            self._hex.extend(text[i : i + 64] for i in range(0, len(text), 64))

    def build(self) -> None:
        self._index = self._index_cls.build(enumerate_hex(self._hex))

    def release_inputs(self) -> None:
        del self._hex

    def prepare_query(self, code: Codes) -> Any:
        return code.tobytes().hex()

    def query(self, query: Any) -> Any:
        return self._index.query(query)

    def result_rows(self, answer: Any) -> Rows:
        return np.array([match.metadata for match in answer], dtype=np.int64)

    def nbytes(self) -> int | None:
        return None


METHODS: dict[str, Callable[[], Method]] = {
    "shieldwall": Shieldwall,
    "tx-pdqindex": lambda: ThreatExchange(version_2=False),
    "tx-pdqindex2": lambda: ThreatExchange(version_2=True),
    "faiss-flat": FaissFlat,
    "faiss-mih": FaissMultiHash,
}


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak() -> None:
    """Reset VmHWM (Linux >= 4.0); the peak then covers the build only."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def peak_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def release_free_heap() -> None:
    """Return freed heap pages to the OS (glibc), so build temporaries don't count as resident."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def run_child(args: argparse.Namespace) -> None:
    """Build one method on one dataset, time single-hash queries, write results to --child-out."""
    import faiss

    faiss.omp_set_num_threads(1)
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    codes = np.load(args.child_codes)
    queries = np.load(args.child_queries)[: args.queries]
    method = METHODS[args.child]()
    gc.collect()
    release_free_heap()
    before = resident_bytes()
    reset_peak()
    method.load(codes)
    started, started_cpu = time.perf_counter(), time.process_time()
    method.build()
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    method.release_inputs()
    gc.collect()
    release_free_heap()
    after, peak = resident_bytes(), peak_bytes()
    log(f"  {args.child}: built in {build_s:.1f} s, RSS +{(after - before) / 2**20:.0f} MiB")
    warmup = np.random.default_rng(0).integers(0, 256, (WARMUP_QUERIES, CODE_BYTES), np.uint8)
    for code in warmup:
        method.query(method.prepare_query(code))
    prepared = [method.prepare_query(code) for code in queries]
    wall_ms, cpu_ms = np.empty(len(prepared)), np.empty(len(prepared))
    checked: list[Rows] = []
    for i, query in enumerate(prepared):
        wall_ns, cpu_ns = time.perf_counter_ns(), time.thread_time_ns()
        answer = method.query(query)
        cpu_ms[i] = (time.thread_time_ns() - cpu_ns) / 1e6
        wall_ms[i] = (time.perf_counter_ns() - wall_ns) / 1e6
        if i < args.check:
            checked.append(method.result_rows(answer))
    offsets = np.cumsum([0] + [len(rows) for rows in checked])
    np.savez(args.child_out, wall_ms=wall_ms, cpu_ms=cpu_ms, rows=np.concatenate(checked),
             offsets=offsets)  # fmt: skip
    summary = {
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "rss_delta": after - before,
        "peak_delta": peak - before,
        "peak_rss": peak,
        "nbytes": method.nbytes(),
    }
    Path(f"{args.child_out}.json").write_text(json.dumps(summary))


# --- Orchestration ----------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    method: str
    dataset: str
    n: int
    note: str = ""
    load: float = 0.0  # 1-minute load average when the method started (2 cores)
    build_s: float | None = None
    build_cpu_s: float | None = None
    median_ms: float | None = None
    p95_ms: float | None = None
    median_cpu_ms: float | None = None
    p95_cpu_ms: float | None = None
    query_s: float | None = None
    bytes_per_hash: float | None = None
    nbytes_per_hash: float | None = None
    peak_per_hash: float | None = None
    peak_rss: int | None = None
    expected: int = 0
    found: int = 0
    extras: int = 0
    hits_per_query: float | None = None

    @property
    def ran(self) -> bool:
        return self.median_ms is not None


def projection(previous: Row | None, n: int, args: argparse.Namespace) -> str:
    """Why a method should not run at ``n``, judged from its run at a smaller size ('' if fine)."""
    if previous is None or not previous.ran or previous.peak_rss is None:
        return ""
    scale = n / previous.n
    # Containers that grow by reallocation (std::vector, dict) hold the old and the new copy for a
    # moment, which a smaller run's peak hides: PDQIndex2 peaked at 19.7 GB at 10M vs 14.5 GB
    # projected from 1M. So allow for 1.5x the retained growth on top of the baseline.
    retained = (previous.bytes_per_hash or 0.0) * previous.n
    baseline = previous.peak_rss - (previous.peak_per_hash or 0.0) * previous.n
    peak_gb = max(previous.peak_rss, baseline + 1.5 * retained) * scale / 2**30
    seconds = ((previous.build_s or 0) + (previous.query_s or 0)) * scale
    if peak_gb > args.max_gb:
        return (
            f"not run: projected peak RSS {peak_gb:.0f} GB > {args.max_gb:g} GB "
            f"(at {size_label(previous.n)}: peak {previous.peak_rss / 2**30:.1f} GB, index "
            f"{retained / 2**30:.1f} GB; x{scale:g}, +50% of the index for regrowth)"
        )
    if seconds > args.max_method_s:
        return (
            f"not run: projected {seconds:.0f} s > {args.max_method_s} s "
            f"({seconds / scale:.0f} s at {size_label(previous.n)})"
        )
    return ""


def run_method(method: str, data: Prepared, args: argparse.Namespace) -> Row:
    row = Row(method, data.dataset, data.n)
    out = CACHE_DIR / f"result_{method}_{data.dataset}_{size_label(data.n)}.npz"
    out.unlink(missing_ok=True)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--child", method,
        "--child-codes", str(data.codes_path), "--child-queries", str(data.queries_path),
        "--child-out", str(out), "--queries", str(args.queries), "--check", str(args.check),
        "--cpu", str(args.cpu),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    row.load = os.getloadavg()[0]
    try:
        done = subprocess.run(command, env=env, timeout=2 * args.max_method_s, check=False)
    except subprocess.TimeoutExpired:
        row.note = f"failed: over {2 * args.max_method_s} s"
        return row
    summary_path = Path(f"{out}.json")
    if done.returncode or not summary_path.exists():
        row.note = f"failed: exit code {done.returncode}"
        return row
    summary = json.loads(summary_path.read_text())
    with np.load(out) as saved:
        wall_ms, cpu_ms = saved["wall_ms"], saved["cpu_ms"]
        got = np.split(saved["rows"], saved["offsets"][1:-1])
    row.build_s, row.build_cpu_s = summary["build_s"], summary["build_cpu_s"]
    row.median_ms, row.p95_ms = float(np.median(wall_ms)), float(np.percentile(wall_ms, 95))
    row.median_cpu_ms, row.p95_cpu_ms = float(np.median(cpu_ms)), float(np.percentile(cpu_ms, 95))
    row.query_s = float(wall_ms.sum() / 1e3)
    row.bytes_per_hash = summary["rss_delta"] / data.n
    row.peak_per_hash = summary["peak_delta"] / data.n
    row.peak_rss = summary["peak_rss"]
    if summary["nbytes"] is not None:
        row.nbytes_per_hash = summary["nbytes"] / data.n
    for expected, returned in zip(data.truth, got, strict=True):
        returned_set = set(returned.tolist())
        row.expected += len(expected)
        row.found += len(returned_set.intersection(expected.tolist()))
        row.extras += len(returned_set.difference(expected.tolist()))
    row.hits_per_query = row.expected / len(data.truth)
    return row


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: Sequence[Row]) -> Iterator[str]:
    """The results: wall-clock times, resident bytes, recall against the popcount scan."""
    yield (
        "| method | dataset | N | build s | median ms | p95 ms | bytes/hash "
        "| recall (found/expected) | extras | hits/query |"
    )
    yield "|" + "---|" * 10
    for row in rows:
        head = f"| {row.method} | {row.dataset} | {size_label(row.n)} |"
        if not row.ran:
            yield f"{head} {row.note} |" + " |" * 6
            continue
        recall = row.found / row.expected if row.expected else 1.0
        yield (
            f"{head} {fmt(row.build_s, 1)} | {fmt(row.median_ms, 3)} | {fmt(row.p95_ms, 3)} "
            f"| {fmt(row.bytes_per_hash, 0)} | {recall:.2%} ({row.found}/{row.expected}) "
            f"| {row.extras} | {fmt(row.hits_per_query, 1)} |"
        )


def diagnostics(rows: Sequence[Row]) -> Iterator[str]:
    """CPU times (immune to preemption by other processes), array bytes, peaks, machine load."""
    yield (
        "| method | dataset | N | build CPU s | median CPU ms | p95 CPU ms | nbytes()/hash "
        "| peak build bytes/hash | load avg at start |"
    )
    yield "|" + "---|" * 9
    for row in rows:
        if row.ran:
            yield (
                f"| {row.method} | {row.dataset} | {size_label(row.n)} "
                f"| {fmt(row.build_cpu_s, 1)} | {fmt(row.median_cpu_ms, 3)} "
                f"| {fmt(row.p95_cpu_ms, 3)} | {fmt(row.nbytes_per_hash, 0)} "
                f"| {fmt(row.peak_per_hash, 0)} | {row.load:.1f} |"
            )


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def target_lines(rows: Sequence[Row]) -> Iterator[str]:
    """Pass/fail of ours against the targets (on wall-clock times), per dataset and size."""
    yield (
        "| dataset | N | median <= 0.5 ms (1M) / 2 ms (10M) | <= 128 bytes/hash "
        "| build <= 30 s (10M) | recall 100%, no extras |"
    )
    yield "|---|---|---|---|---|---|"
    for row in rows:
        if row.method != "shieldwall" or not row.ran:
            continue
        limit = 0.5 if row.n <= 1_000_000 else 2.0
        median, build = row.median_ms or 0.0, row.build_s or 0.0
        build_cell = f"({build:.1f} s; CPU {row.build_cpu_s:.1f} s)"
        cells = [
            f"{verdict(median <= limit)} ({median:.3f} ms; CPU {row.median_cpu_ms:.3f})",
            f"{verdict((row.bytes_per_hash or 0) <= 128)} ({row.bytes_per_hash:.0f})",
            f"{verdict(build <= 30)} {build_cell}" if row.n >= 10_000_000 else f"n/a {build_cell}",
            f"{verdict(row.found == row.expected and row.extras == 0)} "
            f"({row.found}/{row.expected}, {row.extras} extra)",
        ]
        yield f"| {row.dataset} | {size_label(row.n)} | " + " | ".join(cells) + " |"


def markdown(rows: Sequence[Row], args: argparse.Namespace, real_note: str) -> str:
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("numpy", "faiss-cpu", "threatexchange", "pdqhash")
    )
    lines = [
        "## Exact PDQ lookup: range search at Hamming distance <= 31",
        "",
        *produced_by(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")),
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {memory_gib():.0f} GiB RAM; Python "
        f"{platform.python_version()}, {versions}. Each method runs in its own process, one "
        f"thread (`faiss.omp_set_num_threads(1)`, OMP/OpenBLAS threads 1), "
        + (f"pinned to CPU {args.cpu}." if args.cpu >= 0 else "not pinned to a CPU."),
        "",
        "Methods: `shieldwall` = `PdqIndex.build` (static `MultiIndexHash`: 16x16-bit chunks up to "
        "4M codes, 4x22 + 8x21 above); `tx-pdqindex` = python-threatexchange "
        "`PdqSignal.get_index_cls()` = `pdq_index.PDQIndex` (FAISS `IndexBinaryMultiHash(256, 16, "
        "16)` in an `IndexBinaryIDMap2`, nflip = 31 // 16 = 1, plus Python maps), queried with "
        "`.query(hex)`; `tx-pdqindex2` = `pdq_index2.PDQIndex2` (FAISS `IndexFlatL2` over 256 "
        "float32 bits); `faiss-flat` = `IndexBinaryFlat.range_search(q, 32)`; `faiss-mih` = "
        "`IndexBinaryMultiHash(256, 16, 16)`, nflip = 1, `range_search(q, 32)`.",
        "",
        f"Datasets: `random` = uniform random codes; for each of the {args.queries} random "
        f"queries, {PLANTED} codes planted at distances cycling through 0..31 and decoys at "
        f"{DECOYS[0]} and {DECOYS[1]}. `real` = {real_note}",
        "",
        f"Metrics: build = wall time of the index construction from arrays (threatexchange: from "
        f"the list of (hex, entry) pairs, the hex strings made beforehand, untimed). Latency = one "
        f"query hash per call through each method's own API, {args.queries} queries after "
        f"{WARMUP_QUERIES} warm-up calls on other random codes. bytes/hash = resident-set growth "
        f"(/proc/self/statm) from before the build to after it, over N, both measured after "
        f"`gc.collect()` and glibc `malloc_trim(0)` (inputs released), so freed build temporaries "
        f"don't count. Recall: the first {args.check} queries, against a numpy popcount scan of "
        f"all N codes (`np.bitwise_count` on uint64 words); expected = every code within 31; "
        f"extras = results not within 31. hits/query = true neighbours per checked query.",
        "",
        *table(rows),
        "",
        "Diagnostics: CPU time of the build and of each query (`time.thread_time`), which other "
        "processes on the machine cannot inflate by preemption; our `nbytes()`; peak resident "
        "growth during the build; the 1-minute load average when each method started.",
        "",
        *diagnostics(rows),
        "",
        "Targets for `shieldwall`:",
        "",
        *target_lines(rows),
        "",
    ]
    return "\n".join(lines)


def run_benchmark(args: argparse.Namespace) -> None:
    sizes = sorted(parse_size(s) for s in args.sizes.split(","))
    methods = [m.strip() for m in args.methods.split(",")]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise SystemExit(f"unknown methods: {', '.join(sorted(unknown))}")
    datasets = list(DATASETS) if args.dataset == "both" else [args.dataset]
    if args.check > args.queries:
        raise SystemExit("--check must not exceed --queries")
    started = time.perf_counter()
    real_note = ""
    if "real" in datasets:
        real = real_hashes(args.real_hashes, HELD_OUT_QUERIES, args.seed, args.workers)
        low_quality = float(np.mean(real["quality"] < 50))
        photos = len(np.unique(real["photo"]))
        real_note = (
            f"PDQ hashes (`pdqhash.compute` on the image reduced to <= 512 px, bits -> "
            f"`np.packbits`) of {len(real['codes'])} augmentations of the "
            f"{photos} corpus photos (~{len(real['codes']) // photos} each: a "
            f"crop of 50-100% of each side at a random position (p = 0.8), half rescaled to a "
            f"128-512 px long side, a horizontal flip (p = 0.3), a rotation of up to 5 degrees "
            f"(p = 0.3), brightness and contrast x0.7-1.3 (p = 0.5 each)); {low_quality:.1%} have "
            f"PDQ quality < 50 and are kept. Above {len(real['codes'])} codes the set is filled "
            f"with copies of those hashes, each with 1-6 distinct random bits flipped (hash i % "
            f"{len(real['codes'])} for filler i, so each real hash gets N / "
            f"{len(real['codes'])} - 1 flipped copies), then shuffled. Queries: the first "
            f"{args.queries} of {HELD_OUT_QUERIES} further augmentations (other random draws, "
            f"same recipe), none in the index."
        )
        del real
    rows: list[Row] = []
    for n in sizes:
        for dataset in datasets:
            data = prepare(dataset, n, args)
            for method in methods:
                earlier = [r for r in rows if r.method == method and r.dataset == dataset]
                reason = projection(earlier[-1] if earlier else None, n, args)
                if reason:
                    log(f"{method} {dataset} N={size_label(n)}: {reason}")
                    rows.append(Row(method, dataset, n, note=reason))
                    continue
                log(f"{method} {dataset} N={size_label(n)}: running")
                row = run_method(method, data, args)
                rows.append(row)
                log(
                    f"  {row.note or 'ok'}: median {fmt(row.median_ms, 3)} ms "
                    f"(CPU {fmt(row.median_cpu_ms, 3)}), recall {row.found}/{row.expected}, "
                    f"extras {row.extras}"
                )
            del data
            gc.collect()
    text = markdown(rows, args, real_note)
    args.out.write_text(text)
    (CACHE_DIR / "lookup_results.json").write_text(json.dumps([asdict(r) for r in rows], indent=1))
    print(text)
    log(f"wrote {args.out} in {time.perf_counter() - started:.0f} s total")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,10M", help="index sizes, comma-separated (1M, 10M)")
    parser.add_argument("--queries", type=int, default=200, help="timed single-hash queries")
    parser.add_argument("--check", type=int, default=100, help="queries checked for recall")
    parser.add_argument("--methods", default=",".join(METHOD_NAMES), help="comma-separated")
    parser.add_argument("--dataset", choices=(*DATASETS, "both"), default="both")
    parser.add_argument("--real-hashes", type=int, default=200_000, help="real PDQ hashes made")
    parser.add_argument("--workers", type=int, default=2, help="processes hashing photos")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cpu",
        type=int,
        default=-1,
        help="CPU to pin the methods to (default -1: one thread, left to the scheduler)",
    )
    parser.add_argument("--max-gb", type=float, default=14.0, help="peak RSS allowed per method")
    parser.add_argument("--max-method-s", type=int, default=600, help="time allowed per method")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown written here")
    for name in ("--child", "--child-codes", "--child-queries", "--child-out"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.child:
        run_child(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
