"""Hashers: pure functions of image bytes or pixels, and the text normalisation of blocklists.
Import domain and media only."""

from shieldwall.signals.exact import md5_hex, sha256_hex
from shieldwall.signals.image_signals import (
    ImageSignals,
    compute_signals,
    decode_for_signals,
    signals_of_image,
)
from shieldwall.signals.pdq import (
    DIHEDRAL_NAMES,
    PDQ_MAX_SIDE,
    PdqHash,
    pdq_dihedral,
    pdq_hash,
    pdq_reference,
)
from shieldwall.signals.region_match import (
    MAX_INTACT_CHANGE,
    LayoutDiff,
    RegionFit,
    compare_layout,
    fit_region,
)
from shieldwall.signals.regions import (
    MAX_KEYPOINTS,
    MIN_KEYPOINTS,
    QueryFeatures,
    RegionSignature,
    body_zone,
    query_features,
    region_signature,
    tile_layout,
)
from shieldwall.signals.text import (
    TextPattern,
    TextQuery,
    parse_pattern,
    skeleton,
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
    "MAX_INTACT_CHANGE",
    "MAX_KEYPOINTS",
    "MIN_KEYPOINTS",
    "PDQ_MAX_SIDE",
    "SHARED_REGIONS",
    "CropWindow",
    "ImageSignals",
    "LayoutDiff",
    "PdqHash",
    "QueryFeatures",
    "RegionFit",
    "RegionSignature",
    "TextPattern",
    "TextQuery",
    "body_zone",
    "compare_layout",
    "compute_signals",
    "crop_windows",
    "decode_for_signals",
    "fit_region",
    "md5_hex",
    "parse_pattern",
    "pdq_dihedral",
    "pdq_hash",
    "pdq_reference",
    "query_features",
    "region_signature",
    "sha256_hex",
    "signals_of_image",
    "skeleton",
    "tile_layout",
]
