"""Uniform-border trimming: letterbox bars, screenshot bars and frames are cut before hashing.

A re-shared copy is often the original with bars added (a phone screenshot, a 16:9 letterbox). The
bars move every PDQ bit, so both the banked image and the query are hashed without them. Trimming is
a pure function of the pixels, so the same content gives the same rectangle on both sides.

Thresholds were chosen on 86 corpus photos at 512 px (bench/RESULTS.md): with them 3 plain photos
lose more than 2% of their area (flat studio backgrounds), while 85 of 86 letterboxed and 83 of 86
phone-screenshot copies come back to the photo's own aspect ratio. The untrimmed hash is kept beside
the trimmed one on both sides, so a trim that goes wrong costs no recall.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shieldwall.media.decode import RGBArray

#: A pixel belongs to a bar when every channel is within this of the bar colour. Bars are added
#: flat, so only JPEG noise moves them; skies and walls drift by more than this over their height.
COLOUR_TOLERANCE = 6
#: A line (row or column) is bar when at least this share of its pixels has the bar colour.
BAR_SHARE = 0.95
#: Lines of text inside a bar (a clock, battery icons) may break the run for at most this share of
#: the image's size, as long as bar lines resume after them.
MAX_GAP_SHARE = 0.04
#: Never trim a side by more than this share; a mostly flat image keeps its content.
MAX_TRIM_SHARE = 0.45


def trim_uniform_borders(pixels: RGBArray) -> tuple[RGBArray, tuple[int, int, int, int]]:
    """Return the pixels inside uniform borders and the box (left, top, right, bottom) kept."""
    height, width = pixels.shape[:2]
    if height < 8 or width < 8:
        return pixels, (0, 0, width, height)
    top = _bar_depth(pixels, axis=0, from_end=False)
    bottom = height - _bar_depth(pixels, axis=0, from_end=True)
    left = _bar_depth(pixels, axis=1, from_end=False)
    right = width - _bar_depth(pixels, axis=1, from_end=True)
    if bottom - top < height // 4 or right - left < width // 4:
        return pixels, (0, 0, width, height)
    return pixels[top:bottom, left:right], (left, top, right, bottom)


def _bar_depth(pixels: RGBArray, axis: int, from_end: bool) -> int:
    """How many lines from one edge are bar: axis 0 walks rows (top/bottom), 1 walks columns.

    Lines are examined in blocks from the edge inwards, so a photo without bars costs one line."""
    oriented = pixels if axis == 0 else pixels.transpose(1, 0, 2)
    if from_end:
        oriented = oriented[::-1]
    size = oriented.shape[0]
    limit = int(size * MAX_TRIM_SHARE)
    colour = np.median(oriented[0], axis=0)
    max_gap = max(1, int(size * MAX_GAP_SHARE))
    depth = gap = 0
    start = 0
    block = 1  # the outermost line alone first: most photos stop there
    while start < limit:
        lines: npt.NDArray[np.int16] = oriented[start : min(start + block, limit)].astype(np.int16)
        close = np.all(np.abs(lines - colour) <= COLOUR_TOLERANCE, axis=2)
        for offset, bar in enumerate(close.mean(axis=1) >= BAR_SHARE):
            if bar:
                depth, gap = start + offset + 1, 0
            else:
                gap += 1
                if gap > max_gap or depth == 0:
                    return depth
        start += len(lines)
        block = 32
    return depth
