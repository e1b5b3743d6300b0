"""Derived-fake benchmark (issue 3), baselines so far: how often a benign simulated fake made from
a registered photo is matched back to that photo, and how often to a wrong one.

Registered: every corpus photo (long side <= 1600 px as stored). Queries: for each photo and each
spec (30/40/50% replaced; rounded rectangle or ellipse; inpaint, donor patch or flat fill; see
bench/fakes.py) a fake, then Telegram's re-encoding; plus 40% and 50% fakes cropped 10%
(anchored) and a 40% fake in a phone screenshot. Rows are "share + edit", columns per method:
recall (matched to its own source) and false matches (matched to any other photo; for the patch
fill, the donor counts as false: the detector must not be fooled by the pasted genuine copy).

Methods now: Shieldwall's PDQ matching (whole image, regions, crops, dihedral) at threshold 31.
The region-signature detector of issue 3 will be added beside it.

    .venv/bin/python bench/derived_fakes.py [--limit N] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from corpus import corpus
from fakes import SPECS, make_fake
from shieldwall.domain import DEFAULT_PDQ_THRESHOLD, MIN_PDQ_QUALITY
from shieldwall.media import copies
from shieldwall.signals import DEFAULT_WINDOWS, compute_signals

EXTRA_EDITS = {
    "crop-10": lambda image, seed: copies.anchored_crop(0.10, seed)(image),
    "screenshot": lambda image, seed: copies.screenshot(image),
}


def bank_codes(path: str) -> list[str]:
    signals = compute_signals(Path(path).read_bytes(), crops=DEFAULT_WINDOWS)
    return [
        s.value
        for s in signals.entry_signals()
        if s.signal.value == "pdq" and (s.quality or 0) >= MIN_PDQ_QUALITY
    ]


def query_task(args: tuple[int, str, str]) -> list[tuple[str, int, list[str]]]:
    """All fakes of one photo: (row label, donor index, usable query hashes)."""
    number, path, donor_path = args
    pixels = np.asarray(Image.open(path).convert("RGB"))
    donor = np.asarray(Image.open(donor_path).convert("RGB"))
    out = []
    for spec in SPECS:
        fake = Image.fromarray(make_fake(pixels, spec, donor, seed=number))
        edits: dict[str, Image.Image] = {"": fake}
        if spec.share in (0.4, 0.5):
            edits["crop-10"] = EXTRA_EDITS["crop-10"](fake, number)
        if spec.share == 0.4:
            edits["screenshot"] = EXTRA_EDITS["screenshot"](fake, number)
        for edit, image in edits.items():
            signals = compute_signals(copies.telegram_reencode(image), dihedral=True)
            hashes = [h.hex for _, h in signals.query_pdq() if h.quality >= MIN_PDQ_QUALITY]
            label = f"{spec.share:.0%} {spec.fill}" + (f" + {edit}" if edit else "")
            out.append((label, spec.fill == "patch", hashes))
    return out


def words(hexes: list[str]) -> np.ndarray:
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    return (
        np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").reshape(-1, 4).astype(np.uint64)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    files = [str(p) for p in corpus(args.limit)]
    n = len(files)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        banks = list(pool.map(bank_codes, files, chunksize=4))
        tasks = [(i, f, files[(i + 1) % n]) for i, f in enumerate(files)]
        queries = list(pool.map(query_task, tasks, chunksize=2))
    owners = np.concatenate([np.full(len(codes), i) for i, codes in enumerate(banks)])
    bank = words([c for codes in banks for c in codes])
    hits: dict[str, int] = defaultdict(int)
    tried: dict[str, int] = defaultdict(int)
    false: dict[str, int] = defaultdict(int)
    for i, rows in enumerate(queries):
        for label, _, hashes in rows:
            best = np.full(n, 257)
            for q in words(hashes):
                np.minimum.at(best, owners, np.bitwise_count(bank ^ q).sum(axis=1))
            tried[label] += 1
            hits[label] += int(best[i] <= DEFAULT_PDQ_THRESHOLD)
            false[label] += int((np.delete(best, i) <= DEFAULT_PDQ_THRESHOLD).sum())
    print(f"{n} registered photos; {time.perf_counter() - started:.0f} s; threshold 31\n")
    print("| fake (then Telegram re-encode) | fakes | PDQ recall | PDQ false matches |")
    print("| --- | --- | --- | --- |")
    for label in sorted(tried, key=lambda x: (x[:3], x)):
        print(f"| {label} | {tried[label]} | {hits[label] / tried[label]:.1%} | {false[label]} |")
    print(f"\nnegative pairs tried per row: {n - 1} per fake")


if __name__ == "__main__":
    main()
