"""Derived-fake benchmark (issue 3): is a benign simulated fake made from a registered photo
matched back to that photo, and never to another one?

Registered: every corpus photo (as stored, long side <= 1600 px), in one bank. Queries: for each
photo and each spec (30/40/50% replaced; rounded rectangle or ellipse; inpaint, donor patch or flat
fill; see bench/fakes.py) a fake, then Telegram's re-encoding; plus the 40% and 50% fakes cropped
10% (anchored), the 40% fakes in a phone screenshot, and the unaltered photo re-encoded. For the
patch fill the donor is the next registered photo, and matching it counts as a false match.

Methods, side by side on the same fakes:
- PDQ: Shieldwall's issue-2 matching (whole image, regions, crops, dihedral), threshold 31;
- ORB whole: keypoints from the whole registered photo and the whole query, the same index and
  RANSAC verification (the plain local-feature approach);
- region: Shieldwall's region signature (keypoints from the intact area only).

    .venv/bin/python bench/derived_fakes.py [--limit N] [--workers 2] [--threshold 16]

Writes the tables to stdout and the threshold plot to bench/derived_fakes_roc.png.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from corpus import corpus
from fakes import SPECS, make_fake, region_mask
from shieldwall.domain import DEFAULT_PDQ_THRESHOLD, DEFAULT_REGION_THRESHOLD, MIN_PDQ_QUALITY
from shieldwall.engine.derived import find_derived
from shieldwall.index import KeypointIndex
from shieldwall.media import copies, decode_image, trim_uniform_borders
from shieldwall.signals import (
    DEFAULT_WINDOWS,
    PDQ_MAX_SIDE,
    RegionSignature,
    compute_signals,
    query_features,
    region_signature,
)

THRESHOLDS = (8, 10, 12, 14, 16, 18, 20, 24, 28, 32)
METHODS = ("region", "orb-whole")


@dataclass
class Result:
    label: str
    photo: int
    pdq: list[str]
    scores: dict[str, dict[int, int]]  # method -> entry -> score (verified candidates only)
    box: tuple[float, float, float, float] | None  # our reported changed area (own photo)
    truth: tuple[float, float, float, float] | None  # the replaced region's box (plain fakes)


def pixels_of(data: bytes) -> np.ndarray:
    return trim_uniform_borders(decode_image(data, max_side=PDQ_MAX_SIDE).pixels)[0]


def register(path: str) -> tuple[list[str], bytes, bytes]:
    data = Path(path).read_bytes()
    signals = compute_signals(data, crops=DEFAULT_WINDOWS, region=True)
    codes = [
        s.value
        for s in signals.entry_signals()
        if s.signal.value == "pdq" and (s.quality or 0) >= MIN_PDQ_QUALITY
    ]
    assert signals.region is not None
    whole = region_signature(pixels_of(data), intact_only=False)
    return codes, signals.region.to_bytes(), whole.to_bytes()


_STATE: dict[str, tuple[KeypointIndex, dict[int, RegionSignature]]] = {}


def init_worker(signatures: dict[str, list[bytes]]) -> None:
    for method, blobs in signatures.items():
        parsed = {i: RegionSignature.from_bytes(b) for i, b in enumerate(blobs)}
        index = KeypointIndex()
        index.add((i, s.descriptors) for i, s in parsed.items())
        _STATE[method] = (index, parsed)


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    rows, cols = np.nonzero(mask)
    h, w = mask.shape
    return (cols.min() / w, rows.min() / h, (cols.max() + 1) / w, (rows.max() + 1) / h)


def query_task(args: tuple[int, str, str]) -> list[Result]:
    """All fakes of one photo."""
    number, path, donor_path = args
    pixels = np.asarray(Image.open(path).convert("RGB"))
    donor = np.asarray(Image.open(donor_path).convert("RGB"))
    queries: list[tuple[str, Image.Image, tuple[float, float, float, float] | None]] = [
        ("unaltered copy", Image.fromarray(pixels), None)
    ]
    for spec in SPECS:
        fake = Image.fromarray(make_fake(pixels, spec, donor, seed=number))
        label = f"{spec.share:.0%} {spec.fill}"
        truth = mask_box(region_mask(*pixels.shape[:2], spec.share, spec.shape))
        queries.append((label, fake, truth))
        if spec.share in (0.4, 0.5):
            queries.append((label + " + crop-10", copies.anchored_crop(0.10, number)(fake), None))
        if spec.share == 0.4:
            queries.append((label + " + screenshot", copies.screenshot(fake), None))
    out = []
    for label, image, truth in queries:
        data = copies.telegram_reencode(image)
        signals = compute_signals(data, dihedral=True, features=True)
        hashes = [h.hex for _, h in signals.query_pdq() if h.quality >= MIN_PDQ_QUALITY]
        assert signals.features is not None
        features = {
            "region": signals.features,
            "orb-whole": query_features(pixels_of(data), skip_core=False),
        }
        scores: dict[str, dict[int, int]] = {}
        box = None
        for method in METHODS:
            index, sigs = _STATE[method]
            found = find_derived(index, sigs, features[method], min(THRESHOLDS))
            scores[method] = {c.entry_id: c.fit.score for c in found}
            own = next((c for c in found if c.entry_id == number), None)
            if method == "region" and own is not None:
                box = own.layout.changed_box
        out.append(Result(label, number, hashes, scores, box, truth))
    return out


def words(hexes: list[str]) -> np.ndarray:
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    return (
        np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").reshape(-1, 4).astype(np.uint64)
    )


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def tally(threshold: int, method: str, rows: list[Result]) -> tuple[int, int, int]:
    hit = sum(r.scores[method].get(r.photo, 0) >= threshold for r in rows)
    false = sum(
        score >= threshold
        for r in rows
        for entry, score in r.scores[method].items()
        if entry != r.photo
    )
    return len(rows), hit, false


def pdq_tally(results: list[Result], codes: list[list[str]]) -> tuple[dict[str, int], ...]:
    """PDQ recall and false matches per row label, by brute force over every registered hash."""
    n = len(codes)
    owners = np.concatenate([np.full(len(c), i) for i, c in enumerate(codes)])
    bank = words([c for cs in codes for c in cs])
    pdq_hit: dict[str, int] = defaultdict(int)
    pdq_false: dict[str, int] = defaultdict(int)
    for r in results:
        best = np.full(n, 257)
        for q in words(r.pdq):
            np.minimum.at(best, owners, np.bitwise_count(bank ^ q).sum(axis=1))
        pdq_hit[r.label] += int(best[r.photo] <= DEFAULT_PDQ_THRESHOLD)
        pdq_false[r.label] += int((np.delete(best, r.photo) <= DEFAULT_PDQ_THRESHOLD).sum())
    return pdq_hit, pdq_false


def threshold_table(fakes: list[Result], weak: set[int]) -> dict[str, list[tuple[int, float, int]]]:
    """Print recall and false matches as the score threshold moves; return the curves."""
    print("\nThreshold table (all fakes pooled; recall over all photos / over photos not weak):\n")
    print(
        "| threshold | region recall | region recall, weak excluded | region false matches "
        "| ORB whole recall | ORB whole false matches |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    curves: dict[str, list[tuple[int, float, int]]] = {m: [] for m in METHODS}
    strong_fakes = [r for r in fakes if r.photo not in weak]
    for threshold in THRESHOLDS:
        count, hit, false = tally(threshold, "region", fakes)
        _, strong_hit, _ = tally(threshold, "region", strong_fakes)
        _, orb_hit, orb_false = tally(threshold, "orb-whole", fakes)
        curves["region"].append((threshold, hit / count, false))
        curves["orb-whole"].append((threshold, orb_hit / count, orb_false))
        print(
            f"| {threshold} | {hit / count:.1%} | {strong_hit / len(strong_fakes):.1%} | {false} "
            f"| {orb_hit / count:.1%} | {orb_false} |"
        )

    for method in METHODS:
        worst = max(
            (score for r in fakes for e, score in r.scores[method].items() if e != r.photo),
            default=0,
        )
        print(f"\nhighest score of a wrong photo, {method}: {worst}")
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threshold", type=int, default=DEFAULT_REGION_THRESHOLD)
    parser.add_argument("--plot", default=str(Path(__file__).with_name("derived_fakes_roc.png")))
    args = parser.parse_args()
    files = [str(p) for p in corpus(args.limit)]
    n = len(files)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        registered = list(pool.map(register, files, chunksize=4))
    signatures = {
        "region": [r[1] for r in registered],
        "orb-whole": [r[2] for r in registered],
    }
    parsed = [RegionSignature.from_bytes(b) for b in signatures["region"]]
    weak = {i for i, s in enumerate(parsed) if s.weak}
    tasks = [(i, f, files[(i + 1) % n]) for i, f in enumerate(files)]
    with ProcessPoolExecutor(args.workers, initializer=init_worker, initargs=(signatures,)) as pool:
        results = [r for rows in pool.map(query_task, tasks, chunksize=1) for r in rows]
    elapsed = time.perf_counter() - started

    pdq_hit, pdq_false = pdq_tally(results, [r[0] for r in registered])
    by_label: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_label[r.label].append(r)
    t = args.threshold
    print(
        f"{n} registered photos ({len(weak)} flagged weak: {len(weak) / n:.1%}); "
        f"{len(results)} queries; {elapsed:.0f} s on {args.workers} workers; "
        f"PDQ threshold {DEFAULT_PDQ_THRESHOLD}, region and ORB score threshold {t}\n"
    )
    print(
        "| query (then Telegram re-encode) | queries | PDQ recall | PDQ false | ORB whole recall "
        "| ORB whole false | region recall | region recall, weak excluded | region false |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label in sorted(by_label, key=lambda x: (x[:3] if x[0].isdigit() else "", x)):
        rows = by_label[label]
        strong = [r for r in rows if r.photo not in weak]
        count, orb_hit, orb_false = tally(t, "orb-whole", rows)
        _, hit, false = tally(t, "region", rows)
        _, strong_hit, _ = tally(t, "region", strong)
        print(
            f"| {label} | {count} | {pdq_hit[label] / count:.1%} | {pdq_false[label]} "
            f"| {orb_hit / count:.1%} | {orb_false} | {hit / count:.1%} "
            f"| {strong_hit / max(len(strong), 1):.1%} | {false} |"
        )
    print(f"\nnegative pairs tried: {len(results) * (n - 1):,} ({n - 1} per query)")
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for r in results:
        for entry, score in r.scores["region"].items():
            if entry != r.photo and score >= t:
                pairs[(Path(files[r.photo]).name, Path(files[entry]).name)] += 1
    print(
        f"region false matches at threshold {t}, by (query's photo, matched photo): {dict(pairs)}"
    )

    fakes = [r for r in results if r.label != "unaltered copy"]
    curves = threshold_table(fakes, weak)
    boxes = [
        iou(r.box, r.truth)
        for r in fakes
        if r.truth and r.box and r.scores["region"].get(r.photo, 0) >= t
    ]
    if boxes:
        print(
            f"\nchanged-area box vs the replaced region's box (plain fakes matched): "
            f"median IoU {np.median(boxes):.2f}, share with IoU >= 0.5 "
            f"{np.mean(np.array(boxes) >= 0.5):.1%} ({len(boxes)} fakes)"
        )
    sizes = [len(b) for b in signatures["region"]]
    print(
        f"signature bytes per photo: median {np.median(sizes):.0f}, max {max(sizes)}; "
        f"keypoints median {np.median([len(s.points) for s in parsed]):.0f}"
    )
    plot(curves, args.plot, len(fakes) * (n - 1))


def plot(curves: dict[str, list[tuple[int, float, int]]], path: str, negatives: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for method, points in curves.items():
        xs = [p[0] for p in points]
        left.plot(xs, [100 * p[1] for p in points], marker="o", label=method)
        right.plot(xs, [p[2] for p in points], marker="o", label=method)
    left.set_xlabel("score threshold (agreeing keypoints)")
    left.set_ylabel("recall of fakes, %")
    right.set_xlabel("score threshold (agreeing keypoints)")
    right.set_ylabel(f"false matches (of {negatives:,} negative pairs)")
    right.set_yscale("symlog")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Derived-fake detection: recall and false matches by threshold")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
