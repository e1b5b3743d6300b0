"""Safe decoding of untrusted bytes into a normalised RGB array.

Limits are checked before pixels are allocated: the byte count first, then the pixel count read from
the header. Only the first frame of an animation or multi-page file is ever decoded. JPEGs are
decoded at a reduced scale by libjpeg's DCT scaling ("draft" mode) when the caller asks for a
bounded size, which is what makes hashing a 12 MP photo cheaper than decoding it.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from shieldwall.domain import DecodeError, DecodeFailure

#: Formats Pillow may try. MPO is what many phone cameras write (a JPEG with extra frames).
SUPPORTED_FORMATS: tuple[str, ...] = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF")
#: Background that transparent pixels are flattened onto (RGB).
ALPHA_BACKGROUND = (255, 255, 255)

#: Share of the requested size that JPEG draft decoding may return (see _normalise).
DRAFT_SHARE = 0.75

RGBArray = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds on untrusted input. Defaults: 50 MB, 100 megapixels, 25 megapixels for WebP.

    WebP gets its own limit because Pillow decodes it only at full size, at ~15 bytes of peak
    memory per pixel (a 3 KB lossless WebP of 81 MP measured +1.2 GB); JPEG decodes at reduced
    size and PNG/GIF/TIFF shrink before conversion (~1 byte per pixel)."""

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_webp_pixels: int = 25_000_000


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An image as H x W x 3 uint8 RGB, upright (EXIF orientation applied), alpha flattened.

    ``original_size`` is (width, height) as stored in the file, before any reduction; ``pixels`` may
    be smaller when the caller asked for a bounded size."""

    pixels: RGBArray
    original_size: tuple[int, int]
    format: str

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def decode_image(
    data: bytes, limits: DecodeLimits | None = None, max_side: int | None = None
) -> DecodedImage:
    """Decode ``data`` or raise DecodeError naming the reason.

    ``max_side`` bounds the long side of the returned pixels (aspect kept); None keeps full size.
    """
    limits = limits or DecodeLimits()
    if not data:
        raise DecodeError(DecodeFailure.EMPTY, "the input has no bytes")
    if len(data) > limits.max_bytes:
        raise DecodeError(
            DecodeFailure.TOO_MANY_BYTES,
            f"{len(data)} bytes is over the limit of {limits.max_bytes}",
        )
    image = _open(data, limits)
    try:
        return _normalise(image, max_side)
    finally:
        image.close()


def _formats() -> list[str]:
    Image.init()  # registers every plugin (MPO among them), once
    return [name for name in SUPPORTED_FORMATS if name in Image.OPEN]


def _open(data: bytes, limits: DecodeLimits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns or raises at its global limit; ours below is the one
            # that counts, so its warning is noise and its error is mapped to our reason.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_formats())
    except Image.DecompressionBombError as exc:
        raise DecodeError(DecodeFailure.TOO_MANY_PIXELS, str(exc)) from None
    except UnidentifiedImageError:
        raise DecodeError(
            DecodeFailure.NOT_AN_IMAGE,
            "not an image in a supported format (JPEG, PNG, WebP, GIF, BMP, TIFF)",
        ) from None
    except Exception as exc:  # any parser failure on hostile bytes is a refusal, not a crash
        raise DecodeError(DecodeFailure.CORRUPT, f"unreadable header: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise DecodeError(DecodeFailure.CORRUPT, f"invalid dimensions {width}x{height}")
    limit = limits.max_webp_pixels if image.format == "WEBP" else limits.max_pixels
    if width * height > limit:
        image.close()
        kind = "a WebP image" if image.format == "WEBP" else "an image"
        raise DecodeError(
            DecodeFailure.TOO_MANY_PIXELS,
            f"{width}x{height} is {width * height} pixels, over the limit of {limit} for {kind}",
        )
    return image


def _normalise(image: Image.Image, max_side: int | None) -> DecodedImage:
    original_size = image.size
    fmt = image.format or "unknown"
    try:
        if max_side is not None and fmt in ("JPEG", "MPO"):
            # libjpeg scales by 1/2, 1/4 or 1/8 and keeps the result at least this big: asking
            # for 3/4 of max_side lets a 4000 px photo decode at 1/8 (500 px) instead of 1/4.
            scale = DRAFT_SHARE * max_side / max(original_size)
            if scale < 1:
                wanted = (
                    max(1, math.ceil(original_size[0] * scale)),
                    max(1, math.ceil(original_size[1] * scale)),
                )
                image.draft("RGB", wanted)  # libjpeg decodes at 1/2, 1/4 or 1/8 scale
        image.load()
    except OSError as exc:
        text = str(exc)
        reason = DecodeFailure.TRUNCATED if "truncated" in text else DecodeFailure.CORRUPT
        raise DecodeError(reason, text) from None
    except Exception as exc:
        raise DecodeError(DecodeFailure.CORRUPT, f"undecodable image data: {exc}") from None
    try:
        orientation = int(image.getexif().get(_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not lose an otherwise valid image
        orientation = 1
    try:
        # Shrink before any conversion or transpose: each of those copies the whole image, and a
        # few KB of PNG or WebP can declare 100 MP (0.3-0.4 GB a copy).
        small = _shrink(image, max_side)
        rgb = _to_rgb(small)
        if max_side is not None and max(rgb.size) > max_side:
            rgb.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        method = _TRANSPOSE.get(orientation)
        if method is not None:
            rgb = rgb.transpose(method)
        pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    except Exception as exc:  # an exotic mode or a lazy decoder failing late: refuse, never crash
        raise DecodeError(DecodeFailure.CORRUPT, f"cannot convert to RGB: {exc}") from None
    return DecodedImage(pixels=pixels, original_size=original_size, format=fmt)


_ORIENTATION = 0x0112
#: EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: Modes Pillow resamples smoothly; others (palette, 1-bit, 16-bit) are converted first.
_RESAMPLABLE = ("L", "LA", "RGB", "RGBA", "RGBX", "I", "F")
#: Palette and 1-bit images only resample by nearest neighbour: down to this many times the
#: wanted size, the rest is done smoothly after conversion.
_NEAREST_HEADROOM = 4


def _shrink(image: Image.Image, max_side: int | None) -> Image.Image:
    """Bring ``image`` near ``max_side`` in its own mode, before it is converted."""
    if max_side is None or max(image.size) <= max_side:
        return image
    if image.mode in _RESAMPLABLE:
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return image
    if image.mode in ("P", "1") and max(image.size) > _NEAREST_HEADROOM * max_side:
        scale = _NEAREST_HEADROOM * max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        return image.resize(size, Image.Resampling.NEAREST)
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _high_depth_to_l(image)
        mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB")
    if mode != "RGB":
        return image.convert("RGB")
    return image


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """Scale 16/32-bit grey or float images to 8 bits instead of letting Pillow clip them."""
    values = np.nan_to_num(np.asarray(image).astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(values.max()) if values.size else 0.0
    if image.mode == "F":
        scale = 255.0 if top <= 1.0 else 255.0 / max(top, 1.0)
    else:
        scale = 1.0 if top <= 255 else 255.0 / 65535.0
    return Image.fromarray(np.clip(values * scale, 0, 255).astype(np.uint8), mode="L")
