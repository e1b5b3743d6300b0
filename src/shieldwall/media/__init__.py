"""Safe decoding: untrusted bytes -> normalised RGB pixels, with limits checked first."""

from shieldwall.media.borders import trim_uniform_borders
from shieldwall.media.decode import (
    SUPPORTED_FORMATS,
    DecodedImage,
    DecodeLimits,
    RGBArray,
    decode_image,
)

__all__ = [
    "SUPPORTED_FORMATS",
    "DecodeLimits",
    "DecodedImage",
    "RGBArray",
    "decode_image",
    "trim_uniform_borders",
]
