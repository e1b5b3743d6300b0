"""Windows of an image that get PDQ hashes of their own, so that edited copies still match.

PDQ survives re-encoding, resizing and colour changes, but not a crop or a caption: moving the
frame by 2% moves a median 50-85 bits. Two kinds of window help:

- crop windows (bank side only): a copy is cropped after it was banked, so the bank holds hashes
  of the usual crops of the image (5% and 10% cut at a corner, an edge's middle or the centre);
  a copy cropped that way lands near one of them. Each costs one more 32-byte code in the index.
- shared regions (both sides): the upper and lower three quarters of the image, hashed for the
  bank entry and for every query, so a caption or watermark across the bottom (or top) leaves one
  region of the copy intact to match.

Chosen by bench/robustness.py; bench/RESULTS.md has the recall each buys and its cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.media import RGBArray


@dataclass(frozen=True, slots=True)
class CropWindow:
    """A window as fractions of the image: keep ``width`` x ``height`` of it, placed at ``(x, y)``
    where 0 is flush left/top, 0.5 centred and 1 flush right/bottom."""

    name: str
    width: float
    height: float
    x: float
    y: float

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        keep_w, keep_h = round(width * self.width), round(height * self.height)
        left = round((width - keep_w) * self.x)
        top = round((height - keep_h) * self.y)
        return left, top, left + keep_w, top + keep_h


def _grid(size: float, positions: tuple[float, ...]) -> tuple[CropWindow, ...]:
    percent = round(size * 100)
    return tuple(
        CropWindow(f"crop{percent}-{round(x * 100):03d}-{round(y * 100):03d}", size, size, x, y)
        for y in positions
        for x in positions
    )


#: Bank-side crop windows: 95% and 90% of each side at the nine usual anchors.
DEFAULT_WINDOWS: tuple[CropWindow, ...] = _grid(0.95, (0.0, 0.5, 1.0)) + _grid(0.9, (0.0, 0.5, 1.0))
#: Regions hashed on both sides: a caption across one end leaves the other region intact.
SHARED_REGIONS: tuple[CropWindow, ...] = (
    CropWindow("upper", 1.0, 0.75, 0.5, 0.0),
    CropWindow("lower", 1.0, 0.75, 0.5, 1.0),
)


def crop_windows(pixels: RGBArray, windows: tuple[CropWindow, ...]) -> list[tuple[str, RGBArray]]:
    """The named sub-images of ``pixels`` for each window (views, no copies)."""
    height, width = pixels.shape[:2]
    out = []
    for window in windows:
        left, top, right, bottom = window.box(width, height)
        out.append((window.name, pixels[top:bottom, left:right]))
    return out
