"""Benign simulated "derived fakes" for the derived-fake benchmark (issue 3).

A fake keeps a registered photo's top and sides (face, hair, pose, background, framing) and
replaces a lower-centre, body-shaped region with other *benign* content: OpenCV inpainting from
the surrounding pixels, a patch pasted from another registered photo, or a flat skin-tone fill with
noise. Nothing here generates or edits people: it blanks a region of a landscape, building or
object photo as often as of a clothed person, and it is only used to measure matching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

Shape = Literal["rounded-rect", "ellipse"]
Fill = Literal["inpaint", "patch", "flat"]
Mask = npt.NDArray[np.bool_]
Pixels = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class FakeSpec:
    share: float  # share of the image area replaced: 0.3, 0.4, 0.5
    shape: Shape
    fill: Fill


def region_mask(height: int, width: int, share: float, shape: Shape) -> Mask:
    """A lower-centre region covering ``share`` of the image: a rounded rectangle from 30% of the
    height down to the bottom, or an ellipse from 20% down; its width is solved for the share."""
    top = 0.30 if shape == "rounded-rect" else 0.20
    rows = height - round(height * top)
    mask = np.zeros((height, width), dtype=np.uint8)
    region_w = min(width, round(share * height * width / rows))
    if shape == "ellipse":
        region_w = min(width, round(region_w * 4 / np.pi))  # an ellipse fills pi/4 of its box
    left = (width - region_w) // 2
    box_top = height - rows
    if shape == "rounded-rect":
        radius = max(1, min(region_w, rows) // 6)
        cv2.rectangle(mask, (left + radius, box_top), (left + region_w - radius, height), 1, -1)
        cv2.rectangle(mask, (left, box_top + radius), (left + region_w, height), 1, -1)
        for cx in (left + radius, left + region_w - radius):
            cv2.circle(mask, (cx, box_top + radius), radius, 1, -1)
    else:
        centre = (width // 2, box_top + rows // 2)
        cv2.ellipse(mask, centre, (region_w // 2, rows // 2), 0, 0, 360, 1, -1)
    return mask.astype(bool)


def make_fake(pixels: Pixels, spec: FakeSpec, donor: Pixels, seed: int) -> Pixels:
    """``pixels`` with the spec's region replaced; ``donor`` (another registered photo) supplies
    the patch for the ``patch`` fill."""
    height, width = pixels.shape[:2]
    mask = region_mask(height, width, spec.share, spec.shape)
    out = pixels.copy()
    if spec.fill == "inpaint":
        small = cv2.resize(pixels, (width // 4, height // 4), interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(mask.astype(np.uint8), (width // 4, height // 4))
        filled = cv2.inpaint(small, small_mask, 5, cv2.INPAINT_TELEA)
        out[mask] = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)[mask]
    elif spec.fill == "patch":
        out[mask] = cv2.resize(donor, (width, height), interpolation=cv2.INTER_AREA)[mask]
    else:
        rng = np.random.default_rng(seed)
        tone = np.array([224, 172, 140]) * rng.uniform(0.75, 1.05)  # a skin-like flat colour
        noise = rng.normal(0, 6, (int(mask.sum()), 3))
        out[mask] = np.clip(tone + noise, 0, 255).astype(np.uint8)
    return out


SPECS: tuple[FakeSpec, ...] = tuple(
    FakeSpec(share, shape, fill)
    for share in (0.3, 0.4, 0.5)
    for shape in ("rounded-rect", "ellipse")
    for fill in ("inpaint", "patch", "flat")
)
