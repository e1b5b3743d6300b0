"""Derived-fake search speed and memory at 1,000 and 10,000 registered photos (issue 3).

Registered: the corpus photos plus region signatures of augmented copies of them (mirror image,
crops at several offsets, colour and brightness shifts, resizes, small rotations) until the bank
holds N signatures; they are cached under bench/.cache. Queries: one benign fake per corpus photo
(30/40/50% replaced, all fills and shapes in turn, then Telegram's re-encoding), their keypoints
computed once beforehand.

Timed on one core (OMP_NUM_THREADS=1, CPU time of the process): the search (index lookup, votes,
RANSAC of the candidates, changed area) per query, and the whole query (decode, PDQ x8, digests,
keypoints, search) for the 10,000 case. Side by side: the same search through an exhaustive flat
index (the baseline a sublinear index must beat). A match to an augmented copy of the query's own
photo counts as right; a match to any other photo as false.

    OMP_NUM_THREADS=1 .venv/bin/python bench/derived_speed.py [--sizes 1000 10000] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import faiss
import numpy as np
from PIL import Image, ImageEnhance

from corpus import CACHE, corpus
from fakes import SPECS, make_fake
from shieldwall.domain import DEFAULT_REGION_THRESHOLD
from shieldwall.engine.derived import find_derived
from shieldwall.index import KeypointIndex
from shieldwall.index.keypoints import IVF_MIN
from shieldwall.media import copies
from shieldwall.signals import QueryFeatures, RegionSignature, compute_signals

AUGMENTS = 40  # augmented copies per corpus photo (enough for 10,000 with 258 photos)


def augment(image: Image.Image, k: int) -> Image.Image:
    rng = np.random.default_rng(k)
    out = image
    if k % 2:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    share = float(rng.uniform(0.03, 0.2))
    out = copies.crop(share, k)(out)
    out = ImageEnhance.Brightness(out).enhance(float(rng.uniform(0.8, 1.2)))
    out = ImageEnhance.Color(out).enhance(float(rng.uniform(0.6, 1.4)))
    if k % 3 == 0:
        out = out.rotate(float(rng.uniform(-4, 4)), resample=Image.Resampling.BILINEAR)
    scale = float(rng.uniform(0.5, 1.0))
    return out.resize((max(64, round(out.width * scale)), max(64, round(out.height * scale))))


def pad_task(args: tuple[int, str]) -> list[bytes]:
    number, path = args
    image = Image.open(path).convert("RGB")
    out = []
    for k in range(AUGMENTS):
        data = copies.encode_jpeg(augment(image, number * 1000 + k), 85)
        region = compute_signals(data, region=True).region
        assert region is not None
        out.append(region.to_bytes())
    return out


def register_task(path: str) -> bytes:
    region = compute_signals(Path(path).read_bytes(), region=True).region
    assert region is not None
    return region.to_bytes()


def fake_task(args: tuple[int, str, str]) -> bytes:
    number, path, donor_path = args
    pixels = np.asarray(Image.open(path).convert("RGB"))
    donor = np.asarray(Image.open(donor_path).convert("RGB"))
    spec = SPECS[number % len(SPECS)]
    return copies.telegram_reencode(Image.fromarray(make_fake(pixels, spec, donor, number)))


def signatures(files: list[str], workers: int) -> tuple[list[bytes], list[list[bytes]]]:
    cache = CACHE / f"derived_pad_{len(files)}_{AUGMENTS}.npz"
    if cache.exists():
        saved = np.load(cache, allow_pickle=True)
        return list(saved["originals"]), list(saved["padding"])
    with ProcessPoolExecutor(workers) as pool:
        originals = list(pool.map(register_task, files, chunksize=4))
        padding = list(pool.map(pad_task, list(enumerate(files)), chunksize=1))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        originals=np.array(originals, dtype=object),
        padding=np.array(padding, dtype=object),
    )
    return originals, padding


def bank_of(
    size: int, originals: list[bytes], padding: list[list[bytes]]
) -> tuple[dict[int, RegionSignature], dict[int, int]]:
    """``size`` signatures: every original, then padding round-robin. Returns entry -> signature
    and entry -> the corpus photo it comes from."""
    sigs: dict[int, RegionSignature] = {}
    source: dict[int, int] = {}
    for i, blob in enumerate(originals):
        sigs[i] = RegionSignature.from_bytes(blob)
        source[i] = i
    k = 0
    while len(sigs) < size:
        photo, copy = k % len(originals), k // len(originals)
        entry = len(sigs)
        sigs[entry] = RegionSignature.from_bytes(padding[photo][copy])
        source[entry] = photo
        k += 1
    return sigs, source


def run_queries(
    index: KeypointIndex,
    sigs: dict[int, RegionSignature],
    source: dict[int, int],
    queries: list[QueryFeatures],
    photos: int,
) -> tuple[list[float], int, int, int]:
    """Times, hits, matches to the donor photo or its augmented copies, other false matches.
    Query i is a fake of corpus photo i, its patch (if any) from photo i + 1 (of ``photos``)."""
    times, hits, donor, false = [], 0, 0, 0
    n = photos
    for photo, features in enumerate(queries):
        started = time.process_time()
        matched = find_derived(index, sigs, features, DEFAULT_REGION_THRESHOLD)
        times.append((time.process_time() - started) * 1000)
        hits += any(source[c.entry_id] == photo for c in matched)
        donor += sum(source[c.entry_id] == (photo + 1) % n for c in matched)
        false += sum(source[c.entry_id] not in (photo, (photo + 1) % n) for c in matched)
    return times, hits, donor, false


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--baseline-queries", type=int, default=40, help="queries timed on the flat baseline"
    )
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    files = [str(p) for p in corpus(args.limit)]
    n = len(files)
    originals, padding = signatures(files, args.workers)
    with ProcessPoolExecutor(args.workers) as pool:
        fakes = list(pool.map(fake_task, [(i, f, files[(i + 1) % n]) for i, f in enumerate(files)]))
    whole_ms = []
    queries = []
    for data in fakes:
        started = time.process_time()
        signals = compute_signals(data, dihedral=True, features=True)
        whole_ms.append((time.process_time() - started) * 1000)
        assert signals.features is not None
        queries.append(signals.features)
    print(
        f"{n} queries (one fake per corpus photo); OMP threads 1; "
        f"threshold {DEFAULT_REGION_THRESHOLD}; CPU ms per query\n"
    )
    print(
        "| registered | index | queries | build s | search median ms | p95 ms | recall "
        "| matches to the donor's copies | other false matches | index bytes/photo "
        "| signature bytes/photo |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    search_at: dict[int, list[float]] = {}
    for size in args.sizes:
        sigs, source = bank_of(size, originals, padding)
        for name, ivf_min in (("flat (baseline)", 1 << 62), ("Shieldwall", IVF_MIN)):
            started = time.perf_counter()
            index = KeypointIndex(ivf_min=ivf_min)
            index.add((e, s.descriptors) for e, s in sigs.items())
            build = time.perf_counter() - started
            chosen = queries if ivf_min == IVF_MIN else queries[: args.baseline_queries]
            times, hits, donor, false = run_queries(index, sigs, source, chosen, n)
            label = name
            if ivf_min == IVF_MIN:
                search_at[size] = times
                label += " (inverted file)" if index.inverted else " (flat)"
            sig_bytes = np.mean([len(s.to_bytes()) for s in sigs.values()])
            print(
                f"| {size:,} | {label} | {len(chosen)} | {build:.1f} "
                f"| {np.median(times):.1f} | {np.percentile(times, 95):.1f} "
                f"| {hits / len(chosen):.1%} | {donor} | {false} "
                f"| {index.nbytes() / size:,.0f} | {sig_bytes:,.0f} |"
            )
    if len(search_at) >= 2:
        small, big = min(search_at), max(search_at)
        print(
            f"\nsearch growth {small:,} -> {big:,} registered: median x"
            f"{np.median(search_at[big]) / np.median(search_at[small]):.2f}"
        )
    hashing = np.array(whole_ms)
    biggest = search_at[max(search_at)] if search_at else [0.0]
    total = hashing + np.array(biggest)
    print(
        f"query signals (decode, PDQ x8, digests, keypoints): median {np.median(hashing):.1f} ms, "
        f"p95 {np.percentile(hashing, 95):.1f} ms; whole query at {max(args.sizes):,}: "
        f"median {np.median(total):.1f} ms, p95 {np.percentile(total, 95):.1f} ms"
    )
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")


if __name__ == "__main__":
    main()
