"""Bank-side crop variants: extra PDQ hashes of windows of a banked image.

PDQ survives re-encoding, resizing and colour changes, but a crop of a few percent moves many bits
(plain PDQ matched 0% of 10%-cropped copies in our benchmark). A copy is cropped after it was
banked, so the bank holds hashes of a few likely windows of the image; a cropped copy then lands
near one of them. Each window costs one more 32-byte code in the index (see bench/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.media import RGBArray


@dataclass(frozen=True, slots=True)
class CropWindow:
    """A window as fractions of the width and height: keep ``size`` of each axis, placed at
    ``(x, y)`` where 0 is flush left/top, 0.5 centred and 1 flush right/bottom."""

    name: str
    size: float
    x: float
    y: float

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        keep_w, keep_h = round(width * self.size), round(height * self.size)
        left = round((width - keep_w) * self.x)
        top = round((height - keep_h) * self.y)
        return left, top, left + keep_w, top + keep_h


def _grid(size: float, positions: tuple[float, ...]) -> tuple[CropWindow, ...]:
    percent = round(size * 100)
    return tuple(
        CropWindow(f"crop{percent}-{round(x * 100):03d}-{round(y * 100):03d}", size, x, y)
        for y in positions
        for x in positions
    )


#: The default variant set. Chosen by bench/robustness.py: see bench/RESULTS.md for the recall
#: each window set buys and its cost in index size.
DEFAULT_WINDOWS: tuple[CropWindow, ...] = _grid(0.95, (0.0, 0.5, 1.0)) + _grid(0.9, (0.0, 0.5, 1.0))


def crop_windows(pixels: RGBArray, windows: tuple[CropWindow, ...]) -> list[tuple[str, RGBArray]]:
    """The named sub-images of ``pixels`` for each window (views, no copies)."""
    height, width = pixels.shape[:2]
    out = []
    for window in windows:
        left, top, right, bottom = window.box(width, height)
        out.append((window.name, pixels[top:bottom, left:right]))
    return out
