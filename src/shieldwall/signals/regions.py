"""Region signature: what derived-fake detection keeps of a registered photo.

A nudify fake keeps the registered photo's top and sides (face, hair, pose, background, framing)
and replaces a lower-centre, body-shaped region. The signature therefore keeps only what lies in
the area such a fake leaves intact:

- up to ``MAX_KEYPOINTS`` ORB keypoints (32-byte binary descriptors, position rounded to 1/255 of
  the image side) from the *intact area*: the top band and the side strips, never the lower-centre
  body zone. That is what makes the detector ignore a pasted genuine copy of another registered
  photo's body region, and it means the signature holds nothing of that zone's details;
- a coarse tile grid (``TILES`` x ``TILES`` cells, mean brightness and contrast of each) so that a
  match can say which part of the photo was changed.

It never holds pixels: descriptors are 256 comparisons of pairs of smoothed pixels around each
keypoint, enough to recognise the same corner in another copy and not enough to draw the photo.
A photo whose intact area has too few keypoints (bokeh, flat sky, a plain wall) is ``weak``: it
cannot be protected this way, and registration says so.

Query side: ``query_features`` takes keypoints from the whole (border-trimmed) image.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from shieldwall.domain import InvalidHashError
from shieldwall.media import RGBArray

#: Keypoints kept per registered photo (the signature is ~34 bytes per keypoint).
MAX_KEYPOINTS = 256
#: Fewer intact-area keypoints than this: the photo is flagged as weak and not region-indexed.
MIN_KEYPOINTS = 96
#: Keypoints detected on the query image.
QUERY_KEYPOINTS = 1000
#: The body zone a fake replaces, as fractions of the image: from BODY_TOP of the height down,
#: BODY_WIDTH of the width wide, centred. Registration keeps keypoints outside it only.
BODY_TOP = 0.20
BODY_WIDTH = 0.80
#: The core of the body zone, left out on the query side too: a pasted patch of another photo
#: lies there, and the registered keypoints land outside it in any plausible copy or crop.
QUERY_SKIP_TOP = 0.35
QUERY_SKIP_WIDTH = 0.60
#: Long side, in pixels, at which keypoints are detected on both sides.
REGION_SIDE = 512
#: Shortest side (at REGION_SIDE scale) on which keypoints are looked for.
MIN_SIDE = 48
#: Tile grid of the coarse layout (mean brightness and contrast per tile).
TILES = 12
#: Grid over which kept keypoints are spread (so one busy corner cannot take them all).
SPREAD_GRID = 8

_MAGIC = b"SWR1"
_HEADER = struct.Struct(">4sHHH")  # magic, width, height, keypoint count
_TILE_BYTES = TILES * TILES * 2

U8Array = npt.NDArray[np.uint8]
F32Array = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class RegionSignature:
    """A registered photo's region signature. ``points`` are (x, y) in 0..255 of the width and
    height of the photo as hashed (``width`` x ``height``, long side <= 512)."""

    width: int
    height: int
    points: U8Array  # (n, 2)
    descriptors: U8Array  # (n, 32)
    tiles: U8Array  # (TILES, TILES, 2): mean, standard deviation of grey

    @property
    def weak(self) -> bool:
        """Too little texture in the intact area to recognise a fake made from this photo."""
        return len(self.points) < MIN_KEYPOINTS

    def pixel_points(self) -> F32Array:
        """Keypoint positions in pixels of the photo as hashed."""
        scale = np.array([(self.width - 1) / 255, (self.height - 1) / 255], dtype=np.float32)
        return self.points.astype(np.float32) * scale

    def to_bytes(self) -> bytes:
        return b"".join(
            (
                _HEADER.pack(_MAGIC, self.width, self.height, len(self.points)),
                self.tiles.tobytes(),
                self.points.tobytes(),
                self.descriptors.tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RegionSignature:
        """Parse a stored or imported signature; InvalidHashError says what is wrong."""
        if len(data) < _HEADER.size + _TILE_BYTES:
            raise InvalidHashError(f"region signature too short ({len(data)} bytes)")
        magic, width, height, count = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise InvalidHashError("not a region signature (bad magic)")
        if not (width and height) or count > MAX_KEYPOINTS:
            raise InvalidHashError(f"region signature header is invalid: {width}x{height} {count}")
        expected = _HEADER.size + _TILE_BYTES + count * 34
        if len(data) != expected:
            raise InvalidHashError(
                f"region signature is {len(data)} bytes, its header says {expected}"
            )
        raw = np.frombuffer(data, dtype=np.uint8, offset=_HEADER.size)
        tiles = raw[:_TILE_BYTES].reshape(TILES, TILES, 2)
        points = raw[_TILE_BYTES : _TILE_BYTES + 2 * count].reshape(count, 2)
        descriptors = raw[_TILE_BYTES + 2 * count :].reshape(count, 32)
        return cls(width, height, points.copy(), descriptors.copy(), tiles.copy())

    def digest(self) -> str:
        """SHA-256 of the serialised signature: its identity in storage and exports."""
        return hashlib.sha256(self.to_bytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class QueryFeatures:
    """Keypoints of a query image (in pixels of ``grey``) and the grey image itself, which the
    matcher needs to say what changed. Never stored."""

    points: F32Array  # (n, 2)
    descriptors: U8Array  # (n, 32)
    grey: U8Array


def _grey(pixels: RGBArray) -> U8Array:
    """Grey at REGION_SIDE on the long side, whatever size the decoder returned."""
    grey = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    scale = REGION_SIDE / max(height, width)
    if scale != 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        grey = cv2.resize(
            grey, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        )
    return np.asarray(grey)


def body_zone(
    height: int, width: int, top: float = BODY_TOP, share: float = BODY_WIDTH
) -> npt.NDArray[np.bool_]:
    """The lower-centre zone a fake replaces, as a boolean mask (True = body zone): from ``top``
    of the height down, ``share`` of the width wide."""
    ys = np.arange(height)[:, None] >= round(height * top)
    xs = np.abs(np.arange(width)[None, :] + 0.5 - width / 2) < width * share / 2
    zone: npt.NDArray[np.bool_] = ys & xs
    return zone


def _outside(zone: npt.NDArray[np.bool_]) -> U8Array:
    return np.where(zone, 0, 255).astype(np.uint8)


def _detect(
    grey: U8Array, count: int, mask: U8Array | None = None
) -> tuple[list[cv2.KeyPoint], U8Array]:
    # A low FAST threshold and a narrow edge margin: the intact area is thin strips along the
    # top and sides, and weak corners there are still worth more than none (measured: 3.5% of
    # the corpus keeps < 96 keypoints, against 7.4% with OpenCV's defaults of 20 and 31).
    orb = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=count, edgeThreshold=8, patchSize=31, fastThreshold=5
    )
    if min(grey.shape) < MIN_SIDE:  # a sliver: ORB's pyramid cannot be built, nothing to find
        return [], np.zeros((0, 32), dtype=np.uint8)
    keypoints, descriptors = orb.detectAndCompute(grey, mask)
    if descriptors is None:
        return [], np.zeros((0, 32), dtype=np.uint8)
    return list(keypoints), np.asarray(descriptors, dtype=np.uint8)


def tile_layout(grey: U8Array) -> U8Array:
    """Mean and standard deviation of grey in each of TILES x TILES tiles."""
    side = TILES * 8
    small = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    blocks = small.reshape(TILES, 8, TILES, 8).transpose(0, 2, 1, 3).reshape(TILES, TILES, 64)
    out = np.stack([blocks.mean(axis=2), blocks.std(axis=2) * 4], axis=2)
    layout: U8Array = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return layout


def region_signature(pixels: RGBArray, *, intact_only: bool = True) -> RegionSignature:
    """The region signature of a registered photo (pixels as decoded and border-trimmed).
    ``intact_only=False`` takes keypoints from the whole photo: only for comparison in the
    benchmark, it matches the donor of a pasted patch."""
    grey = _grey(pixels)
    height, width = grey.shape
    mask = _outside(body_zone(height, width)) if intact_only else None
    keypoints, descriptors = _detect(grey, MAX_KEYPOINTS * 6, mask)
    keep = _spread(keypoints, width, height, MAX_KEYPOINTS)
    xy = np.array([keypoints[i].pt for i in keep], dtype=np.float32).reshape(-1, 2)
    scale = np.array([255 / max(width - 1, 1), 255 / max(height - 1, 1)], dtype=np.float32)
    points = np.clip(np.rint(xy * scale), 0, 255).astype(np.uint8)
    return RegionSignature(
        width, height, points, descriptors[keep].reshape(-1, 32), tile_layout(grey)
    )


def _spread(keypoints: list[cv2.KeyPoint], width: int, height: int, limit: int) -> list[int]:
    """Indexes of at most ``limit`` keypoints, taken round-robin from the cells of a grid by
    falling response, so that the kept keypoints cover the intact area."""
    cells: dict[tuple[int, int], list[int]] = {}
    order = sorted(range(len(keypoints)), key=lambda i: -keypoints[i].response)
    for i in order:
        x, y = keypoints[i].pt
        cell = (int(x * SPREAD_GRID / width), int(y * SPREAD_GRID / height))
        cells.setdefault(cell, []).append(i)
    queues = list(cells.values())
    kept: list[int] = []
    depth = 0
    while len(kept) < limit and queues:
        queues = [q for q in queues if len(q) > depth]
        for q in queues:
            if len(kept) == limit:
                break
            kept.append(q[depth])
        depth += 1
    return sorted(kept)


def query_features(pixels: RGBArray, *, skip_core: bool = True) -> QueryFeatures:
    """Keypoints of a query image (decoded and border-trimmed), from all but the core of the
    body zone (``skip_core=False``: from the whole image, for comparison)."""
    grey = _grey(pixels)
    height, width = grey.shape
    skip = body_zone(height, width, QUERY_SKIP_TOP, QUERY_SKIP_WIDTH)
    mask = _outside(skip) if skip_core else None
    keypoints, descriptors = _detect(grey, QUERY_KEYPOINTS * 3, mask)
    keep = _spread(keypoints, width, height, QUERY_KEYPOINTS)
    points = np.array([keypoints[i].pt for i in keep], dtype=np.float32).reshape(-1, 2)
    return QueryFeatures(points, descriptors[keep].reshape(-1, 32), grey)
