"""PDQ perceptual hashes (Meta's PDQ, through the ``pdqhash`` bindings).

Hash strings are 64 lowercase hex characters, most significant bit first: the format that
ThreatExchange, HMA and StopNCII exchange. ``pdqhash`` does not downscale, and costs ~100x more on
a 12 MP photo than on 512 px, while PDQ itself reduces every image to 64x64 before its DCT: callers
pass pixels already bounded by ``PDQ_MAX_SIDE``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from shieldwall.media import RGBArray

#: Long side, in pixels, that images are reduced to before PDQ. Above this the hash barely changes.
PDQ_MAX_SIDE = 512

#: The eight dihedral forms of an image (rotations by 90 degrees, with and without a mirror).
DIHEDRAL_FORMS: tuple[tuple[str, Callable[[RGBArray], RGBArray]], ...] = (
    ("original", lambda a: a),
    ("rotate90", lambda a: np.rot90(a, 1)),
    ("rotate180", lambda a: np.rot90(a, 2)),
    ("rotate270", lambda a: np.rot90(a, 3)),
    ("flip-horizontal", lambda a: a[:, ::-1]),
    ("flip-vertical", lambda a: a[::-1]),
    ("transpose", lambda a: a.transpose(1, 0, 2)),
    ("transverse", lambda a: np.rot90(a, 2).transpose(1, 0, 2)),
)
DIHEDRAL_NAMES: tuple[str, ...] = tuple(name for name, _ in DIHEDRAL_FORMS)


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A PDQ hash and its quality (0-100; under 50 the hash is not trusted for matching)."""

    hex: str
    quality: int

    @property
    def bytes(self) -> bytes:
        return bytes.fromhex(self.hex)


def bounded(pixels: RGBArray, max_side: int = PDQ_MAX_SIDE) -> RGBArray:
    """Return ``pixels`` reduced so the long side is at most ``max_side`` (a view if already so)."""
    height, width = pixels.shape[:2]
    if max(height, width) <= max_side:
        return pixels
    image = Image.fromarray(pixels)
    image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image, dtype=np.uint8)


def bits_to_hex(bits: npt.NDArray[np.integer]) -> str:
    """256 bits (as 0/1 values, first bit most significant) to the 64-character hex string."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def pdq_hash(pixels: RGBArray) -> PdqHash:
    """PDQ of an RGB image, reduced to ``PDQ_MAX_SIDE`` first."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(bounded(pixels)))
    return PdqHash(bits_to_hex(bits), int(quality))


def pdq_dihedral(pixels: RGBArray) -> tuple[PdqHash, ...]:
    """PDQ of the image in each of its eight dihedral forms, in ``DIHEDRAL_NAMES`` order.

    Each form is hashed from its own pixels. ``pdqhash.compute_dihedral`` derives the forms from one
    DCT by sign changes, which is cheaper but not exact: PDQ thresholds at the median coefficient,
    and the median moves with the signs (measured: a mirrored photo lands 10 bits from the
    original's hash, before any re-encoding noise)."""
    small = bounded(pixels)
    hashes = []
    for _, form in DIHEDRAL_FORMS:
        bits, quality = pdqhash.compute(np.ascontiguousarray(form(small)))
        hashes.append(PdqHash(bits_to_hex(bits), int(quality)))
    return tuple(hashes)
