"""PDQ perceptual hashes (Meta's PDQ algorithm, through the ``pdqhash`` bindings).

Hash strings are 64 lowercase hex characters, most significant bit first: the format that
ThreatExchange, HMA and StopNCII exchange.

PDQ reduces every image to 64x64 luminance, takes a 16x16 DCT and thresholds at the median. The
reference code does the reduction with its own (Jarosz) filter on whatever size it is given; we
area-average the image to 64x64 first and let PDQ hash that (``pdq_hash``). Measured on 65 corpus
photos by bench/pdq_paths.py (figures in bench/RESULTS.md):

- interoperable: our hash lies a median 8 bits (max 18) from the reference code run on the
  full-size image, as HMA runs it; the reference code on a 512 px reduction, the usual shortcut,
  lies a median 8 (max 24) from it. The match threshold is 31.
- more robust: a re-encoded (JPEG q50, then Telegram) copy moved at most 10 bits, against 26 on
  the reference path; unrelated photos stay a median 128 bits apart on both.
- exact and cheap dihedral forms: on a 64x64 input PDQ's own reduction is the identity, so
  ``compute_dihedral`` (which transforms the DCT) equals hashing each rotated or mirrored image,
  all eight in ~1.2 ms against ~2.1 ms for one form of the reference path at 512 px; the
  reference path's own DCT shortcut puts a mirrored copy a median 14 bits (max 32) away, ours
  a median 2 (max 8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from shieldwall.media import RGBArray

#: Long side that images are decoded to before hashing: above it the 64x64 average barely moves.
PDQ_MAX_SIDE = 512
#: Side of the area-averaged image that PDQ hashes (PDQ's own working size).
AREA_SIDE = 64
#: Names of the eight dihedral forms, in the order ``pdqhash.compute_dihedral`` returns them.
DIHEDRAL_NAMES: tuple[str, ...] = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip-horizontal",
    "flip-vertical",
    "flip-diagonal",
    "flip-antidiagonal",
)


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A PDQ hash and its quality (0-100; under 50 the hash is not trusted for matching)."""

    hex: str
    quality: int


def bits_to_hex(bits: npt.NDArray[np.integer]) -> str:
    """256 bits (as 0/1 values, first bit most significant) to the 64-character hex string."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def area64(pixels: RGBArray) -> RGBArray:
    """The image area-averaged to 64 x 64 (aspect not kept, as PDQ itself does)."""
    image = Image.fromarray(np.ascontiguousarray(pixels))
    return np.asarray(image.resize((AREA_SIDE, AREA_SIDE), Image.Resampling.BOX), dtype=np.uint8)


def pdq_hash(pixels: RGBArray) -> PdqHash:
    """PDQ of an RGB image (any size; pass one already reduced to ``PDQ_MAX_SIDE`` for speed)."""
    bits, quality = pdqhash.compute(area64(pixels))
    return PdqHash(bits_to_hex(bits), int(quality))


def pdq_dihedral(pixels: RGBArray) -> tuple[PdqHash, ...]:
    """PDQ of the image in its eight rotations and mirror images, in ``DIHEDRAL_NAMES`` order."""
    all_bits, quality = pdqhash.compute_dihedral(area64(pixels))
    return tuple(PdqHash(bits_to_hex(bits), int(quality)) for bits in all_bits)


def pdq_reference(pixels: RGBArray) -> PdqHash:
    """PDQ as the reference code computes it on the pixels given (PDQ's own reduction). Used by
    the benchmarks' baseline and the interoperability tests, not by the product."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(pixels))
    return PdqHash(bits_to_hex(bits), int(quality))
