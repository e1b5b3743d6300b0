"""Image material for fuzzing the service: synthetic images (numpy) in every supported format
and many modes, a few unsupported formats, the benign photos bundled in shieldwall/samples, and
decompression bombs (small files declaring huge images), built in memory."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

#: Marks the bombs under the default pixel limit, which decode (costly).
UNDER_LIMIT = "(under limit)"


def synthetic(seed_value: int, size: tuple[int, int]) -> Image.Image:
    """A textured synthetic RGB image (waves, rectangles, noise), distinct per seed."""
    rng = np.random.default_rng(seed_value)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    canvas = np.zeros((height, width, 3))
    for channel in range(3):
        fx, fy = rng.uniform(3, 60, 2)
        canvas[..., channel] = 127 + 90 * np.sin(x / fx + channel) * np.cos(y / fy)
    for _ in range(20):
        x0, y0 = rng.integers(0, max(1, width)), rng.integers(0, max(1, height))
        w, h = rng.integers(1, max(2, width // 3)), rng.integers(1, max(2, height // 3))
        canvas[y0 : y0 + h, x0 : x0 + w] = rng.uniform(0, 255, 3)
    canvas += rng.normal(0, 5, canvas.shape)
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@dataclass(frozen=True)
class Sample:
    label: str
    data: bytes
    content_type: str


def with_orientation(image: Image.Image, value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return encode(image, "JPEG", quality=85, exif=exif)


def image_pool() -> list[Sample]:
    """Valid files in every supported format and many modes, plus a few unsupported ones."""
    photo = synthetic(1, (480, 360))
    small = synthetic(2, (64, 48))
    grey = photo.convert("L")
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    frames = [synthetic(10 + i, (160, 120)).convert("P") for i in range(3)]
    pool = [
        Sample("jpeg", encode(photo, "JPEG", quality=85), "image/jpeg"),
        Sample("jpeg-progressive", encode(photo, "JPEG", progressive=True), "image/jpeg"),
        Sample("jpeg-q5", encode(photo, "JPEG", quality=5), "image/jpeg"),
        Sample("jpeg-grey", encode(grey, "JPEG"), "image/jpeg"),
        Sample("jpeg-cmyk", encode(photo.convert("CMYK"), "JPEG"), "image/jpeg"),
        Sample("jpeg-exif-rot6", with_orientation(photo, 6), "image/jpeg"),
        Sample("jpeg-exif-bad", with_orientation(photo, 99), "image/jpeg"),
        Sample("jpeg-1x1", encode(synthetic(3, (1, 1)), "JPEG"), "image/jpeg"),
        Sample("jpeg-1x900", encode(synthetic(4, (1, 900)), "JPEG"), "image/jpeg"),
        Sample("png", encode(photo, "PNG"), "image/png"),
        Sample("png-rgba", encode(rgba, "PNG"), "image/png"),
        Sample("png-palette", encode(photo.convert("P"), "PNG"), "image/png"),
        Sample(
            "png-palette-transparent",
            encode(small.convert("P"), "PNG", transparency=0),
            "image/png",
        ),
        Sample("png-la", encode(rgba.convert("LA"), "PNG"), "image/png"),
        Sample("png-1bit", encode(grey.convert("1"), "PNG"), "image/png"),
        Sample("png-16bit", encode(grey.convert("I;16"), "PNG"), "image/png"),
        Sample("png-900x1", encode(synthetic(5, (900, 1)), "PNG"), "image/png"),
        Sample("png-flat", encode(Image.new("RGB", (200, 200), (40, 40, 40)), "PNG"), "image/png"),
        Sample("webp", encode(photo, "WEBP", quality=80), "image/webp"),
        Sample("webp-lossless", encode(small, "WEBP", lossless=True), "image/webp"),
        Sample("webp-alpha", encode(rgba, "WEBP"), "image/webp"),
        Sample("gif", encode(photo.convert("P"), "GIF"), "image/gif"),
        Sample(
            "gif-animated",
            encode(frames[0], "GIF", save_all=True, append_images=frames[1:], loop=0),
            "image/gif",
        ),
        Sample("tiff", encode(photo, "TIFF"), "image/tiff"),
        Sample("tiff-lzw", encode(photo, "TIFF", compression="tiff_lzw"), "image/tiff"),
        Sample(
            "tiff-deflate", encode(photo, "TIFF", compression="tiff_adobe_deflate"), "image/tiff"
        ),
        Sample("tiff-jpeg", encode(photo, "TIFF", compression="jpeg"), "image/tiff"),
        Sample("tiff-g4", encode(grey.convert("1"), "TIFF", compression="group4"), "image/tiff"),
        Sample("tiff-cmyk", encode(photo.convert("CMYK"), "TIFF"), "image/tiff"),
        Sample("tiff-float", encode(grey.convert("F"), "TIFF"), "image/tiff"),
        Sample("tiff-int32", encode(grey.convert("I"), "TIFF"), "image/tiff"),
        Sample(
            "tiff-multipage",
            encode(frames[0].convert("RGB"), "TIFF", save_all=True, append_images=[photo]),
            "image/tiff",
        ),
        Sample("bmp", encode(photo, "BMP"), "image/bmp"),
        Sample("bmp-palette", encode(photo.convert("P"), "BMP"), "image/bmp"),
        Sample("bmp-1bit", encode(grey.convert("1"), "BMP"), "image/bmp"),
        # Formats Shieldwall does not take: 415.
        Sample("ico", encode(small, "ICO"), "image/x-icon"),
        Sample("ppm", encode(small, "PPM"), "image/x-portable-pixmap"),
        Sample("pcx", encode(small, "PCX"), "image/x-pcx"),
        Sample("tga", encode(small, "TGA"), "image/x-tga"),
        Sample(
            "svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>',
            "image/svg+xml",
        ),
    ]
    folder = resources.files("shieldwall") / "samples"
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".jpg"):
            pool.append(Sample(f"sample:{item.name}", item.read_bytes(), "image/jpeg"))
    return pool


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_of_zeros(width: int, height: int, bit_depth: int = 1, colour: int = 0) -> bytes:
    """A valid PNG of all-zero pixels, compressed row by row (never held whole in memory)."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    row = 1 + (width * bit_depth * channels + 7) // 8
    compressor = zlib.compressobj(9)
    block = bytes(row * 64)
    parts, left = [], height
    while left > 0:
        n = min(64, left)
        parts.append(compressor.compress(block[: row * n]))
        left -= n
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(64))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat)


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose SOF marker declares another size (the scan data is left as it is)."""
    out = bytearray(data)
    i = 2
    while i + 9 < len(out):
        if out[i] != 0xFF:
            break
        marker = out[i + 1]
        length = struct.unpack(">H", out[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            out[i + 5 : i + 9] = struct.pack(">HH", height, width)
            break
        i += 2 + length
    return bytes(out)


def with_size_at(data: bytes, offset: int, layout: str, width: int, height: int) -> bytes:
    """``data`` with a header's width and height at ``offset`` overwritten (``struct`` layout):
    ``"<HH"`` at 6 for a GIF, ``"<ii"`` at 18 for a BMP."""
    out = bytearray(data)
    struct.pack_into(layout, out, offset, width, height)
    return bytes(out)


def tiff_with_size(width: int, height: int) -> bytes:
    """A little-endian TIFF with one strip of 16 bytes and the given declared size."""
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: BlackIsZero
        (273, 4, 1, 8 + 2 + 12 * 9 + 4),  # StripOffsets
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, 16),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HHI", tag, kind, count)
        packed += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + bytes(16)


def webp_vp8x(width: int, height: int) -> bytes:
    """A WebP extended header declaring ``width`` x ``height`` (at most 2^24 each), no image."""
    payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    payload += (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def bomb_pool(pool: list[Sample]) -> list[Sample]:
    """Small files declaring huge images: over the pixel limit (413), or just under it (decoded:
    costly, which is what the RSS samples watch)."""
    jpeg = next(s.data for s in pool if s.label == "jpeg")
    gif = next(s.data for s in pool if s.label == "gif")
    bmp = next(s.data for s in pool if s.label == "bmp")
    solid = Image.new("L", (9000, 9000), 0)
    bombs = [
        Sample("png-30000x30000-1bit", png_of_zeros(30000, 30000), "image/png"),
        Sample("png-20000x20000-8bit", png_of_zeros(20000, 20000, 8), "image/png"),
        Sample("png-header-2^31-1 x 1", png_header_only(2**31 - 1, 1), "image/png"),
        Sample("png-header-65535x65535", png_header_only(65535, 65535), "image/png"),
        Sample("png-header-0x0", png_header_only(0, 0), "image/png"),
        Sample("jpeg-sof-65500x65500", jpeg_with_size(jpeg, 65500, 65500), "image/jpeg"),
        Sample("jpeg-sof-9000x9000", jpeg_with_size(jpeg, 9000, 9000), "image/jpeg"),
        Sample("jpeg-sof-0x0", jpeg_with_size(jpeg, 0, 0), "image/jpeg"),
        Sample("gif-65535x65535", with_size_at(gif, 6, "<HH", 65535, 65535), "image/gif"),
        Sample(
            "bmp-2^31-1 x 2^31-1", with_size_at(bmp, 18, "<ii", 2**31 - 1, 2**31 - 1), "image/bmp"
        ),
        Sample("bmp-negative-height", with_size_at(bmp, 18, "<ii", 480, -(2**31) + 1), "image/bmp"),
        Sample("bmp-zero-width", with_size_at(bmp, 18, "<ii", 0, 360), "image/bmp"),
        Sample("tiff-header-4294967295^2", tiff_with_size(2**32 - 1, 2**32 - 1), "image/tiff"),
        Sample("tiff-header-100000x100000", tiff_with_size(100_000, 100_000), "image/tiff"),
        Sample("webp-vp8x-16777216^2", webp_vp8x(2**24, 2**24), "image/webp"),
        Sample("webp-vp8x-16384x16384", webp_vp8x(16384, 16384), "image/webp"),
        # Under the default 100 MP limit: a few KB that decode to ~100 MP.
        Sample("png-9999x9999-1bit (under limit)", png_of_zeros(9999, 9999), "image/png"),
        Sample("png-9999x9999-8bit (under limit)", png_of_zeros(9999, 9999, 8), "image/png"),
        Sample(
            "webp-lossless-9000x9000 (under limit)",
            encode(solid, "WEBP", lossless=True),
            "image/webp",
        ),
        Sample("gif-9000x9000 (under limit)", encode(solid, "GIF"), "image/gif"),
        Sample(
            "tiff-g4-9000x9000 (under limit)",
            encode(solid.convert("1"), "TIFF", compression="group4"),
            "image/tiff",
        ),
    ]
    return bombs


#: Bombs that decode (costly): picked less often than the cheap refusals.


def bank_images(folder: Path, count: int, first_seed: int, size: tuple[int, int]) -> list[Path]:
    """``count`` synthetic photos saved as ``banked-N.png`` in ``folder``, for a known bank
    (copies and corruptions of them match)."""
    paths = []
    for i in range(count):
        path = folder / f"banked-{i}.png"
        synthetic(first_seed + i, size).save(path)
        paths.append(path)
    return paths
