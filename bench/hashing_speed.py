"""Hashing speed: bytes of a 12 MP JPEG to every query signal (PDQ in 8 dihedral forms, MD5,
SHA-256), against a plain full-size Pillow decode of the same bytes and against pdqhash on the
full-size image (what python-threatexchange's pdq_from_bytes does). One core, interleaved per
file; times are CPU time of this process (time.process_time), which other load barely moves.

    .venv/bin/python bench/hashing_speed.py [--limit 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
import pdqhash
from PIL import Image

from corpus import corpus, twelve_mp
from shieldwall.signals import DEFAULT_WINDOWS, compute_signals


def full_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def pdqhash_full_size(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        pdqhash.compute(np.asarray(image.convert("RGB")))


def shieldwall_query(data: bytes) -> None:
    compute_signals(data, dihedral=True)


def shieldwall_bank(data: bytes) -> None:
    compute_signals(data, crops=DEFAULT_WINDOWS)


METHODS: dict[str, Callable[[bytes], None]] = {
    "Pillow full-size decode (baseline)": full_decode,
    "pdqhash on the full-size image": pdqhash_full_size,
    "Shieldwall query signals (PDQ x8 + MD5 + SHA-256)": shieldwall_query,
    "Shieldwall bank signals (PDQ + 18 crops + MD5 + SHA-256)": shieldwall_bank,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = [twelve_mp(p) for p in corpus()[:: max(1, len(corpus()) // args.limit)][: args.limit]]
    times: dict[str, list[float]] = {name: [] for name in METHODS}
    for path in files:
        data = path.read_bytes()
        for _ in range(args.repeat):
            for name, method in METHODS.items():
                started = time.process_time()
                method(data)
                times[name].append(time.process_time() - started)
    base = statistics.median(times["Pillow full-size decode (baseline)"])
    reference = statistics.median(times["pdqhash on the full-size image"])
    print(f"{len(files)} JPEGs of ~12 MP, {args.repeat} rounds each, interleaved\n")
    print("| method | median ms | p95 ms | ratio to full decode | ratio to pdqhash full-size |")
    print("| --- | --- | --- | --- | --- |")
    for name, values in times.items():
        median = statistics.median(values)
        p95 = sorted(values)[int(0.95 * (len(values) - 1))]
        print(
            f"| {name} | {median * 1e3:.1f} | {p95 * 1e3:.1f} | {median / base:.2f} "
            f"| {median / reference:.3f} |"
        )


if __name__ == "__main__":
    main()
