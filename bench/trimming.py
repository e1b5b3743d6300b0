"""Border trimming: how often it cuts into plain photos, and how often it restores letterboxed and
phone-screenshot copies to the photo's own aspect ratio (within 3%).

    .venv/bin/python bench/trimming.py [--step 3]
"""

from __future__ import annotations

import argparse

from PIL import Image

from corpus import corpus
from shieldwall.media import borders, copies, decode_image, trim_uniform_borders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--step", type=int, default=3, help="take every STEP-th corpus photo")
    args = parser.parse_args()
    photos = corpus()[:: args.step]
    plain_cut = letterbox_ok = screenshot_ok = 0
    for path in photos:
        image = Image.open(path).convert("RGB")
        image.thumbnail((1280, 1280))
        pixels = decode_image(copies.encode_jpeg(image, 80), max_side=512).pixels
        height, width = pixels.shape[:2]
        _, (left, top, right, bottom) = trim_uniform_borders(pixels)
        plain_cut += (right - left) * (bottom - top) < 0.98 * width * height
        for framed, counter in ((copies.letterbox(image), "lb"), (copies.screenshot(image), "ss")):
            copy = decode_image(copies.telegram_reencode(framed), max_side=512).pixels
            trimmed, _ = trim_uniform_borders(copy)
            ok = abs(trimmed.shape[1] / trimmed.shape[0] - width / height) < 0.03 * width / height
            if counter == "lb":
                letterbox_ok += ok
            else:
                screenshot_ok += ok
    n = len(photos)
    print(
        f"tolerance {borders.COLOUR_TOLERANCE}, bar share {borders.BAR_SHARE}, "
        f"gap {borders.MAX_GAP_SHARE}: {n} photos (every {args.step}th)"
    )
    print(f"- plain photos losing more than 2% of their area: {plain_cut}/{n}")
    print(f"- letterboxed copies restored: {letterbox_ok}/{n}")
    print(f"- phone-screenshot copies restored: {screenshot_ok}/{n}")


if __name__ == "__main__":
    main()
