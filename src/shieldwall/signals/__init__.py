"""Hashers: pure functions of image bytes or pixels. Import domain and media only."""

from shieldwall.signals.exact import md5_hex, sha256_hex
from shieldwall.signals.image_signals import ImageSignals, compute_signals
from shieldwall.signals.pdq import (
    DIHEDRAL_NAMES,
    PDQ_MAX_SIDE,
    PdqHash,
    pdq_dihedral,
    pdq_hash,
    pdq_reference,
)
from shieldwall.signals.variants import (
    DEFAULT_WINDOWS,
    SHARED_REGIONS,
    CropWindow,
    crop_windows,
)

__all__ = [
    "DEFAULT_WINDOWS",
    "DIHEDRAL_NAMES",
    "PDQ_MAX_SIDE",
    "SHARED_REGIONS",
    "CropWindow",
    "ImageSignals",
    "PdqHash",
    "compute_signals",
    "crop_windows",
    "md5_hex",
    "pdq_dihedral",
    "pdq_hash",
    "pdq_reference",
    "sha256_hex",
]
