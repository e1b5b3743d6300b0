"""Safe decoding: every bad input is one typed error with a reason; good input is normalised."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import synthetic_photo, to_bytes
from shieldwall.domain import DecodeError, DecodeFailure
from shieldwall.media import DecodeLimits, decode_image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with a tiny (invalid) body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def png_bomb(side: int = 12_000) -> bytes:
    """A real, valid PNG of side x side black pixels: ~100 KB on disk, 432 MB decoded."""
    row = b"\0" + b"\0" * (side * 3)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def reason_of(data: bytes, limits: DecodeLimits | None = None) -> DecodeFailure:
    with pytest.raises(DecodeError) as caught:
        decode_image(data, limits)
    assert str(caught.value).startswith(caught.value.reason.value)
    return caught.value.reason


def test_empty_input() -> None:
    assert reason_of(b"") is DecodeFailure.EMPTY


def test_text_named_jpg_is_not_an_image() -> None:
    assert reason_of(b"hello, this is plain text, not a JPEG\n" * 10) is DecodeFailure.NOT_AN_IMAGE


def test_truncated_jpeg() -> None:
    data = to_bytes(synthetic_photo(1), "JPEG", quality=90)
    assert reason_of(data[: len(data) // 2]) is DecodeFailure.TRUNCATED


@settings(max_examples=150, deadline=None)
@given(
    fmt=st.sampled_from(["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"]),
    cuts=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), min_size=1, max_size=8),
    keep=st.floats(0.0, 1.0),
)
def test_mangled_files_decode_or_raise_decode_error(
    fmt: str, cuts: list[tuple[int, int]], keep: float
) -> None:
    """Flipped bytes and truncation anywhere: an image or a DecodeError, nothing else."""
    data = bytearray(_SMALL[fmt])
    for position, value in cuts:
        data[position % len(data)] = value
    data = data[: max(1, int(len(data) * keep))]
    try:
        decoded = decode_image(bytes(data))
    except DecodeError:
        return
    assert decoded.pixels.ndim == 3 and decoded.pixels.shape[2] == 3


_SMALL = {
    fmt: to_bytes(synthetic_photo(9, (64, 48)), fmt)
    for fmt in ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
}


def test_header_claiming_30000_squared_is_refused_before_decoding() -> None:
    assert reason_of(png_header_only(30_000, 30_000)) is DecodeFailure.TOO_MANY_PIXELS


def test_png_decompression_bomb() -> None:
    bomb = png_bomb()
    assert len(bomb) < 1_000_000
    assert reason_of(bomb) is DecodeFailure.TOO_MANY_PIXELS
    # Under a tighter limit the same holds for a smaller bomb.
    assert (
        reason_of(png_bomb(3000), DecodeLimits(max_pixels=4_000_000))
        is DecodeFailure.TOO_MANY_PIXELS
    )


def test_webp_has_its_own_pixel_limit() -> None:
    """WebP decodes only at full size (~15 bytes a pixel), so it gets a tighter limit."""
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), (90, 20, 160)).save(buffer, "WEBP", lossless=True)
    webp = buffer.getvalue()
    assert len(webp) < 10_000  # 6 MP in a few KB
    tight = DecodeLimits(max_pixels=10_000_000, max_webp_pixels=5_000_000)
    with pytest.raises(DecodeError, match="for a WebP image") as refused:
        decode_image(webp, tight)
    assert refused.value.reason is DecodeFailure.TOO_MANY_PIXELS
    png = io.BytesIO()
    Image.new("RGB", (3000, 2000), (90, 20, 160)).save(png, "PNG")
    assert decode_image(png.getvalue(), tight, max_side=512).width == 512


def test_byte_limit_checked_first() -> None:
    assert reason_of(b"x" * 101, DecodeLimits(max_bytes=100)) is DecodeFailure.TOO_MANY_BYTES


def test_zero_bytes_of_image_after_valid_signature() -> None:
    assert reason_of(b"\x89PNG\r\n\x1a\n") in (DecodeFailure.NOT_AN_IMAGE, DecodeFailure.CORRUPT)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_formats_decode_to_rgb(fmt: str) -> None:
    image = synthetic_photo(2, (200, 120))
    decoded = decode_image(to_bytes(image, fmt))
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == (120, 200, 3)
    assert decoded.original_size == (200, 120)


def test_exif_orientation_is_applied() -> None:
    image = synthetic_photo(3, (200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    decoded = decode_image(to_bytes(image, "JPEG", exif=exif.tobytes()))
    assert decoded.pixels.shape[:2] == (200, 100)


def test_alpha_is_flattened_onto_white() -> None:
    rgba = Image.new("RGBA", (50, 40), (255, 0, 0, 0))
    decoded = decode_image(to_bytes(rgba, "PNG"))
    assert decoded.pixels.shape == (40, 50, 3)
    assert (decoded.pixels == 255).all()


def test_first_frame_of_animation() -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    pixels = decode_image(buffer.getvalue()).pixels
    assert pixels[..., 0].mean() > 200 and pixels[..., 2].mean() < 50


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    values = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    data = to_bytes(Image.fromarray(values), "PNG")
    pixels = decode_image(data).pixels
    assert pixels.min() < 10 and pixels.max() > 245
    assert 100 < pixels.mean() < 155


def test_bounded_decode_uses_draft_and_keeps_aspect() -> None:
    big = synthetic_photo(4, (2400, 1600))
    decoded = decode_image(to_bytes(big, "JPEG", quality=85), max_side=512)
    assert max(decoded.pixels.shape[:2]) == 512
    assert decoded.original_size == (2400, 1600)
    assert abs(decoded.width / decoded.height - 1.5) < 0.01
