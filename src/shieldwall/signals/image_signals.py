"""From image bytes to every signal Shieldwall matches on, in one decode.

The image is decoded at a bounded size (JPEG draft decoding: a 12 MP photo is never expanded to
full size), its uniform borders are trimmed, and the pixels are dropped when this returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.domain import EntrySignal, SignalType
from shieldwall.media import DecodeLimits, decode_image, trim_uniform_borders
from shieldwall.signals.exact import md5_hex, sha256_hex
from shieldwall.signals.pdq import (
    DIHEDRAL_NAMES,
    PDQ_MAX_SIDE,
    PdqHash,
    pdq_dihedral,
    pdq_hash,
)
from shieldwall.signals.variants import DEFAULT_WINDOWS, CropWindow, crop_windows


@dataclass(frozen=True, slots=True)
class ImageSignals:
    """Signals of one image. ``pdq`` is of the border-trimmed image (the canonical hash);
    ``untrimmed_pdq`` is set only when borders were trimmed, for lists hashed without trimming."""

    md5: str
    sha256: str
    pdq: PdqHash
    width: int
    height: int
    trimmed_box: tuple[float, float, float, float] | None = None
    untrimmed_pdq: PdqHash | None = None
    dihedral: tuple[PdqHash, ...] = ()
    crops: tuple[tuple[str, PdqHash], ...] = ()

    def query_pdq(self) -> list[tuple[str, PdqHash]]:
        """The PDQ hashes to look up for this image as a query: all dihedral forms if computed."""
        hashes = list(zip(DIHEDRAL_NAMES, self.dihedral, strict=True)) or [("original", self.pdq)]
        if self.untrimmed_pdq is not None:
            hashes.append(("untrimmed", self.untrimmed_pdq))
        return hashes

    def entry_signals(self) -> tuple[EntrySignal, ...]:
        """What a bank stores for this image: exact digests, PDQ and its crop variants."""
        signals = [
            EntrySignal(SignalType.PDQ, self.pdq.hex, "original", self.pdq.quality),
            EntrySignal(SignalType.MD5, self.md5),
            EntrySignal(SignalType.SHA256, self.sha256),
        ]
        if self.untrimmed_pdq is not None:
            signals.append(
                EntrySignal(
                    SignalType.PDQ, self.untrimmed_pdq.hex, "untrimmed", self.untrimmed_pdq.quality
                )
            )
        signals.extend(
            EntrySignal(SignalType.PDQ, crop.hex, name, crop.quality) for name, crop in self.crops
        )
        return tuple(signals)


def compute_signals(
    data: bytes,
    limits: DecodeLimits | None = None,
    *,
    dihedral: bool = False,
    crops: tuple[CropWindow, ...] = (),
) -> ImageSignals:
    """Hash ``data``. ``dihedral`` adds the 8 rotations/flips (query side); ``crops`` adds PDQ of
    those windows of the trimmed image (bank side). Raises DecodeError for bad input."""
    image = decode_image(data, limits, max_side=PDQ_MAX_SIDE)
    pixels, box = trim_uniform_borders(image.pixels)
    was_trimmed = pixels.shape != image.pixels.shape
    if dihedral:
        forms = pdq_dihedral(pixels)
        primary = forms[0]
    else:
        forms = ()
        primary = pdq_hash(pixels)
    left, top, right, bottom = box
    return ImageSignals(
        md5=md5_hex(data),
        sha256=sha256_hex(data),
        pdq=primary,
        width=image.original_size[0],
        height=image.original_size[1],
        trimmed_box=(
            (
                left / image.width,
                top / image.height,
                right / image.width,
                bottom / image.height,
            )
            if was_trimmed
            else None
        ),
        untrimmed_pdq=pdq_hash(image.pixels) if was_trimmed else None,
        dihedral=forms,
        crops=tuple((name, pdq_hash(window)) for name, window in crop_windows(pixels, crops)),
    )


__all__ = ["DEFAULT_WINDOWS", "ImageSignals", "compute_signals"]
