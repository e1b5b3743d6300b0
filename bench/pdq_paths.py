"""Why Shieldwall hashes an area-averaged 64x64 image with PDQ (signals/pdq.py), in figures.

For a sample of corpus photos, PDQ distances between:
- the reference code on the full-size image (what HMA computes) and each cheaper path
  (reference code on a 512 px reduction; ours: area-averaged 64x64);
- an image and its re-encoded copy (JPEG q50, then Telegram), per path;
- an image and its mirrored or rotated copy, taking the best of the eight dihedral forms:
  reference ``compute_dihedral`` (DCT sign flips) against ours;
- unrelated photos (neighbours in the corpus), per path;
- a 90% window and the same window moved by 0.5%, 1% and 2% of the image along both axes (ours):
  how far a crop must line up with a banked crop window to match.

    .venv/bin/python bench/pdq_paths.py [--step 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pdqhash
from PIL import Image

from corpus import corpus
from shieldwall.media import copies, decode_image
from shieldwall.signals import PDQ_MAX_SIDE, pdq_dihedral, pdq_hash, pdq_reference
from shieldwall.signals.pdq import bits_to_hex


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def reference_dihedral(pixels: np.ndarray) -> list[str]:
    all_bits, _ = pdqhash.compute_dihedral(np.ascontiguousarray(pixels))
    return [bits_to_hex(bits) for bits in all_bits]


def small(data: bytes) -> np.ndarray:
    return decode_image(data, max_side=PDQ_MAX_SIDE).pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--step", type=int, default=4, help="take every STEP-th corpus photo")
    args = parser.parse_args()
    rows: dict[str, list[int]] = {}
    cpu: dict[str, list[float]] = {"reference 512 px, 1 form": [], "ours, 8 forms": []}
    previous: tuple[str, str] | None = None

    def add(key: str, value: int) -> None:
        rows.setdefault(key, []).append(value)

    photos = corpus()[:: args.step]
    for path in photos:
        image = Image.open(path).convert("RGB")
        full = np.asarray(image)
        stored = copies.encode_jpeg(image, 92)
        reference_full = pdq_reference(full).hex
        pixels = small(stored)
        started = time.process_time()
        reference_512 = pdq_reference(pixels).hex
        cpu["reference 512 px, 1 form"].append(time.process_time() - started)
        ours = pdq_hash(pixels).hex
        add("vs full-size reference: reference on 512 px", distance(reference_full, reference_512))
        add("vs full-size reference: ours", distance(reference_full, ours))
        reencoded = small(copies.telegram_reencode(copies.jpeg_quality(50)(image)))
        add(
            "re-encoded copy: reference 512 px",
            distance(reference_512, pdq_reference(reencoded).hex),
        )
        add("re-encoded copy: ours", distance(ours, pdq_hash(reencoded).hex))
        for name, edit in (("mirrored", copies.flip_horizontal), ("rotated", copies.rotate90)):
            copy = small(copies.telegram_reencode(edit(image)))
            add(
                f"{name} copy: reference compute_dihedral",
                min(distance(reference_512, h) for h in reference_dihedral(copy)),
            )
            started = time.process_time()
            forms = pdq_dihedral(copy)
            cpu["ours, 8 forms"].append(time.process_time() - started)
            add(f"{name} copy: ours", min(distance(ours, h.hex) for h in forms))
        height, width = pixels.shape[:2]
        keep_h, keep_w = int(height * 0.9), int(width * 0.9)
        window = pdq_hash(pixels[:keep_h, :keep_w]).hex
        for shift in (0.005, 0.01, 0.02):
            dy, dx = round(height * shift), round(width * shift)
            moved = pdq_hash(pixels[dy : dy + keep_h, dx : dx + keep_w]).hex
            add(f"90% window moved by {shift:.1%}: ours", distance(window, moved))
        if previous is not None:
            add("unrelated photos: reference 512 px", distance(reference_512, previous[0]))
            add("unrelated photos: ours", distance(ours, previous[1]))
        previous = (reference_512, ours)
    print(f"{len(photos)} corpus photos (every {args.step}th); PDQ distances in bits of 256\n")
    print("| comparison | median | p95 | max | min |")
    print("| --- | --- | --- | --- | --- |")
    for key, values in rows.items():
        v = np.array(values)
        print(
            f"| {key} | {np.median(v):.0f} | {np.percentile(v, 95):.0f} | {v.max()} | {v.min()} |"
        )
    print()
    for key, values in cpu.items():
        print(f"CPU per image, {key}: {np.median(values) * 1e3:.2f} ms (median)")


if __name__ == "__main__":
    main()
