"""Verification of a derived-fake candidate: do the query's keypoints and a registered photo's
intact-area keypoints agree on one plausible placement, and what did the query change?

Correspondences come from the keypoint index (nearest descriptors). RANSAC fits a similarity
transform (rotation, uniform scale, shift) from the registered photo to the query; a candidate is
accepted when enough distinct keypoints agree on one whose scale and rotation a re-shared copy can
have (a crop enlarges, a screenshot shrinks; nobody re-shares a fake at 45 degrees). The score is
the number of distinct registered keypoints that agree.

The layout comparison (computed only for candidates at or above the threshold: it costs a warp of
the query) compares the coarse tile layout of the registered photo with the query brought back
into the photo's frame by the fitted transform. It does two things: it rejects a candidate whose
*intact area* (top and sides, which a fake keeps) differs in more than MAX_INTACT_CHANGE of its
tiles, i.e. a different photo of the same kind of scene whose corners happen to line up; and it
reports the box around the tiles that differ, in the query's relative coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from shieldwall.signals.regions import (
    TILES,
    QueryFeatures,
    RegionSignature,
    body_zone,
    tile_layout,
)

#: Fewest correspondences worth fitting a transform to.
MIN_PAIRS = 6
#: RANSAC reprojection tolerance, as a share of the query's long side.
RANSAC_TOLERANCE = 0.008
#: Plausible scale from the registered photo (as hashed) to the query (as hashed), and rotation.
SCALE_RANGE = (0.5, 2.0)
MAX_ROTATION_DEGREES = 10.0
#: Tile differences that count as changed (mean grey, and contrast as a ratio).
MEAN_CHANGE = 22
CONTRAST_RATIO = 2.2
CONTRAST_FLOOR = 24  # stored contrast units (4 x standard deviation)
#: Share of the intact area's visible tiles that may differ in a fake of the photo.
MAX_INTACT_CHANGE = 0.5


@dataclass(frozen=True, slots=True)
class RegionFit:
    """A verified placement of a registered photo in a query."""

    score: int  # distinct registered keypoints consistent with the placement
    scale: float
    rotation_degrees: float
    matrix: npt.NDArray[np.float64]  # 2x3, registered photo pixels -> query pixels


def fit_region(
    signature: RegionSignature,
    features: QueryFeatures,
    query_rows: npt.NDArray[np.int64],
    entry_rows: npt.NDArray[np.int64],
) -> RegionFit | None:
    """Verify the correspondences (query keypoint ``query_rows[i]`` ~ registered keypoint
    ``entry_rows[i]``); None when no plausible placement has at least MIN_PAIRS of them."""
    if len(query_rows) < MIN_PAIRS:
        return None
    source = signature.pixel_points()[entry_rows]
    target = features.points[query_rows]
    tolerance = RANSAC_TOLERANCE * max(features.grey.shape)
    fitted, inliers = cv2.estimateAffinePartial2D(
        source,
        target,
        method=cv2.RANSAC,
        ransacReprojThreshold=tolerance,
        maxIters=1000,
        confidence=0.995,
        refineIters=5,
    )
    if fitted is None or inliers is None:
        return None
    matrix: npt.NDArray[np.float64] = np.asarray(fitted, dtype=np.float64)
    chosen = inliers.ravel().astype(bool)
    score = min(len(np.unique(entry_rows[chosen])), len(np.unique(query_rows[chosen])))
    if score < MIN_PAIRS:
        return None
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    rotation = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1] or abs(rotation) > MAX_ROTATION_DEGREES:
        return None
    return RegionFit(score, scale, rotation, matrix)


@dataclass(frozen=True, slots=True)
class LayoutDiff:
    """How the query, brought back into the registered photo's frame, differs from the photo's
    coarse tile layout."""

    changed_box: tuple[float, float, float, float] | None  # relative to the query
    changed_share: float  # of the photo's visible tiles
    intact_changed: float  # of the visible tiles of the intact area (top and sides)


def compare_layout(
    signature: RegionSignature, features: QueryFeatures, matrix: npt.NDArray[np.float64]
) -> LayoutDiff:
    """Compare tile by tile; the box surrounds the largest group of changed tiles."""
    size = (signature.width, signature.height)
    inverse = cv2.invertAffineTransform(matrix)
    back = np.asarray(
        cv2.warpAffine(features.grey, inverse, size, flags=cv2.INTER_LINEAR), dtype=np.uint8
    )
    seen = np.asarray(
        cv2.warpAffine(np.full(features.grey.shape, 255, np.uint8), inverse, size), dtype=np.uint8
    )
    layout = tile_layout(back).astype(np.int32)
    visible = tile_layout(seen)[:, :, 0] >= 250
    stored = signature.tiles.astype(np.int32)
    mean_change = np.abs(layout[:, :, 0] - stored[:, :, 0]) > MEAN_CHANGE
    low = np.minimum(layout[:, :, 1], stored[:, :, 1])
    high = np.maximum(layout[:, :, 1], stored[:, :, 1])
    contrast_change = (high >= CONTRAST_FLOOR) & (high > CONTRAST_RATIO * np.maximum(low, 1))
    differs = (mean_change | contrast_change) & visible
    intact = visible & ~_TILE_BODY
    intact_changed = float((differs & intact).sum() / max(intact.sum(), 1))
    changed = _largest_blob(differs)
    if not changed.any():
        return LayoutDiff(None, 0.0, intact_changed)
    rows, cols = np.nonzero(changed)
    tile_w, tile_h = signature.width / TILES, signature.height / TILES
    corners = np.array(
        [
            [cols.min() * tile_w, rows.min() * tile_h],
            [(cols.max() + 1) * tile_w, rows.min() * tile_h],
            [cols.min() * tile_w, (rows.max() + 1) * tile_h],
            [(cols.max() + 1) * tile_w, (rows.max() + 1) * tile_h],
        ]
    )
    placed = corners @ matrix[:, :2].T + matrix[:, 2]
    height, width = features.grey.shape
    left, top = placed.min(axis=0) / (width, height)
    right, bottom = placed.max(axis=0) / (width, height)
    box = tuple(round(float(np.clip(v, 0.0, 1.0)), 3) for v in (left, top, right, bottom))
    return LayoutDiff(
        (box[0], box[1], box[2], box[3]),
        float(changed.sum() / max(visible.sum(), 1)),
        intact_changed,
    )


#: Tiles whose centre lies in the body zone (the rest is the intact area).
_TILE_BODY = body_zone(TILES * 8, TILES * 8)[4::8, 4::8]


def _largest_blob(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The largest 8-connected group of changed tiles (a lone tile is noise, not an edit)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    if count <= 1:
        return mask
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[best, cv2.CC_STAT_AREA] < 2:
        return np.zeros_like(mask)
    return np.asarray(labels == best)
