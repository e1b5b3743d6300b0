"""From image bytes to every signal Shieldwall matches on, in one decode.

The image is decoded at a bounded size (JPEG draft decoding: a 12 MP photo is never expanded to
full size) and dropped when this returns.

- ``pdq``: PDQ of the whole image, as other systems hash it: stored as ``original``, shown by
  ``shieldwall hash``, exported, and what hashes from outside are compared with.
- When uniform borders (letterbox, screenshot bars) were trimmed, ``trimmed`` is PDQ of the image
  inside them; both are kept on both sides, so a trim that goes wrong costs no recall.
- The query side adds the eight rotations and mirror images of the (trimmed) image; the bank side
  adds PDQ of crop windows of it, so cropped copies match; both sides add PDQ of the shared
  regions (upper and lower three quarters), so a caption across one end does not hide the image.
"""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.domain import EntrySignal, SignalType
from shieldwall.media import (
    DecodedImage,
    DecodeLimits,
    RGBArray,
    decode_image,
    trim_uniform_borders,
)
from shieldwall.signals.exact import md5_hex, sha256_hex
from shieldwall.signals.pdq import (
    DIHEDRAL_NAMES,
    PDQ_MAX_SIDE,
    PdqHash,
    pdq_dihedral,
    pdq_hash,
)
from shieldwall.signals.regions import (
    QueryFeatures,
    RegionSignature,
    query_features,
    region_signature,
)
from shieldwall.signals.variants import SHARED_REGIONS, CropWindow, crop_windows


@dataclass(frozen=True, slots=True)
class ImageSignals:
    """Signals of one image. ``trimmed_box`` is (left, top, right, bottom) as fractions of the
    image, set when borders were trimmed; ``dihedral`` holds 8 forms when computed, else none."""

    md5: str
    sha256: str
    pdq: PdqHash
    width: int
    height: int
    trimmed: PdqHash | None = None
    trimmed_box: tuple[float, float, float, float] | None = None
    dihedral: tuple[PdqHash, ...] = ()
    regions: tuple[tuple[str, PdqHash], ...] = ()
    crops: tuple[tuple[str, PdqHash], ...] = ()
    region: RegionSignature | None = None
    features: QueryFeatures | None = None

    def query_pdq(self) -> list[tuple[str, PdqHash]]:
        """Every PDQ hash a query looks up, named by what it is a hash of."""
        hashes: list[tuple[str, PdqHash]] = [("original", self.pdq)]
        if self.dihedral:
            prefix = "trimmed:" if self.trimmed is not None else ""
            hashes.extend(
                (prefix + name, h) for name, h in zip(DIHEDRAL_NAMES, self.dihedral, strict=True)
            )
        elif self.trimmed is not None:
            hashes.append(("trimmed", self.trimmed))
        hashes.extend(self.regions)
        return _unique(hashes)

    def entry_signals(self) -> tuple[EntrySignal, ...]:
        """What a bank stores for this image: digests, PDQ (whole and trimmed), crop variants, and
        the region signature when it was computed and holds any keypoint."""
        pdq = [("original", self.pdq)]
        if self.trimmed is not None:
            pdq.append(("trimmed", self.trimmed))
        pdq.extend(self.regions)
        pdq.extend(self.crops)
        region = self.region
        return (
            EntrySignal(SignalType.MD5, self.md5),
            EntrySignal(SignalType.SHA256, self.sha256),
            *(EntrySignal(SignalType.PDQ, h.hex, name, h.quality) for name, h in _unique(pdq)),
            *(
                # Quality of a region signature: how many keypoints it holds.
                (
                    EntrySignal(
                        SignalType.REGION,
                        region.digest(),
                        "original",
                        len(region.points),
                        region.to_bytes(),
                    ),
                )
                if region is not None and len(region.points)
                else ()
            ),
        )


def _unique(hashes: list[tuple[str, PdqHash]]) -> list[tuple[str, PdqHash]]:
    """Drop repeated hash values (a symmetric image's forms coincide), keeping the first name."""
    seen: set[str] = set()
    out = []
    for name, h in hashes:
        if h.hex not in seen:
            seen.add(h.hex)
            out.append((name, h))
    return out


def compute_signals(
    data: bytes,
    limits: DecodeLimits | None = None,
    *,
    dihedral: bool = False,
    crops: tuple[CropWindow, ...] = (),
    regions: tuple[CropWindow, ...] = SHARED_REGIONS,
    region: bool = False,
    features: bool = False,
) -> ImageSignals:
    """Hash ``data``. ``dihedral`` adds the 8 rotations/flips (query side); ``crops`` adds PDQ of
    those windows of the trimmed image (bank side); ``region`` adds the region signature (bank
    side, source banks) and ``features`` the query keypoints it is matched with. Raises
    DecodeError for bad input."""
    image = decode_for_signals(data, limits)
    return signals_of_image(
        image,
        data,
        dihedral=dihedral,
        crops=crops,
        regions=regions,
        region=region,
        features=features,
    )


def decode_for_signals(data: bytes, limits: DecodeLimits | None = None) -> DecodedImage:
    """Decode ``data`` at the size signals are computed at (long side at most 512 px)."""
    return decode_image(data, limits, max_side=PDQ_MAX_SIDE)


def signals_of_image(
    image: DecodedImage,
    data: bytes,
    *,
    dihedral: bool = False,
    crops: tuple[CropWindow, ...] = (),
    regions: tuple[CropWindow, ...] = SHARED_REGIONS,
    region: bool = False,
    features: bool = False,
) -> ImageSignals:
    """``compute_signals`` for an image already decoded by ``decode_for_signals`` from
    ``data`` (so a caller that also classifies the pixels decodes once)."""
    pixels, (left, top, right, bottom) = trim_uniform_borders(image.pixels)
    was_trimmed = pixels.shape != image.pixels.shape
    forms = pdq_dihedral(pixels) if dihedral else ()
    whole = pdq_hash(image.pixels) if was_trimmed or not forms else forms[0]
    return ImageSignals(
        md5=md5_hex(data),
        sha256=sha256_hex(data),
        pdq=whole,
        width=image.original_size[0],
        height=image.original_size[1],
        trimmed=(forms[0] if forms else pdq_hash(pixels)) if was_trimmed else None,
        trimmed_box=(
            (left / image.width, top / image.height, right / image.width, bottom / image.height)
            if was_trimmed
            else None
        ),
        dihedral=forms,
        regions=_window_hashes(pixels, regions),
        crops=_window_hashes(pixels, crops),
        region=region_signature(pixels) if region else None,
        features=query_features(pixels) if features else None,
    )


def _window_hashes(
    pixels: RGBArray, windows: tuple[CropWindow, ...]
) -> tuple[tuple[str, PdqHash], ...]:
    return tuple((name, pdq_hash(window)) for name, window in crop_windows(pixels, windows))
