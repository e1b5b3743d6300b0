"""The edits that re-sharing makes to a photo, to test and demonstrate matching.

Benign geometric and encoding changes only (re-encode, resize, flip, rotate, crop, bars, caption,
colour shift): what a messenger or a screenshot does to a copy. Used by the demo, the tests and the
benchmarks, so all three measure the same thing.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

Edit = Callable[[Image.Image], Image.Image]


def encode_jpeg(image: Image.Image, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def telegram_reencode(image: Image.Image) -> bytes:
    """What Telegram does to a photo: long side at most 1280 px, JPEG quality 80."""
    copy = image.convert("RGB")
    copy.thumbnail((1280, 1280), Image.Resampling.LANCZOS)
    return encode_jpeg(copy, 80)


def jpeg_quality(quality: int) -> Edit:
    def edit(image: Image.Image) -> Image.Image:
        return Image.open(io.BytesIO(encode_jpeg(image, quality))).convert("RGB")

    return edit


def resize(factor: float) -> Edit:
    def edit(image: Image.Image) -> Image.Image:
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        return image.resize(size, Image.Resampling.LANCZOS)

    return edit


def flip_horizontal(image: Image.Image) -> Image.Image:
    return ImageOps.mirror(image)


def rotate90(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_90)


def colour_shift(image: Image.Image) -> Image.Image:
    """Brighter by 15%, saturation up 30%, contrast down 10%: a typical filter."""
    image = ImageEnhance.Brightness(image).enhance(1.15)
    image = ImageEnhance.Color(image).enhance(1.3)
    return ImageEnhance.Contrast(image).enhance(0.9)


#: Where people crop from: a corner, the middle of an edge, or the centre (x, y; 0.5 = centred).
CROP_ANCHORS: tuple[tuple[float, float], ...] = tuple(
    (x, y) for y in (0.0, 0.5, 1.0) for x in (0.0, 0.5, 1.0)
)


def anchored_crop(share: float, seed: int = 0) -> Edit:
    """Keep (1 - share) of each axis, anchored at a corner, an edge's middle or the centre (one of
    ``CROP_ANCHORS``, chosen by ``seed``): cutting off a watermark, a caption, or squaring up."""

    def edit(image: Image.Image) -> Image.Image:
        x, y = CROP_ANCHORS[random.Random(seed).randrange(len(CROP_ANCHORS))]
        keep_w, keep_h = round(image.width * (1 - share)), round(image.height * (1 - share))
        left = round((image.width - keep_w) * x)
        top = round((image.height - keep_h) * y)
        return image.crop((left, top, left + keep_w, top + keep_h))

    return edit


def crop(share: float, seed: int = 0) -> Edit:
    """Keep (1 - share) of each axis at a seeded random offset (any position, not an anchor)."""

    def edit(image: Image.Image) -> Image.Image:
        rng = random.Random(seed)
        keep_w, keep_h = round(image.width * (1 - share)), round(image.height * (1 - share))
        left = rng.randint(0, image.width - keep_w)
        top = rng.randint(0, image.height - keep_h)
        return image.crop((left, top, left + keep_w, top + keep_h))

    return edit


def letterbox(image: Image.Image, colour: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """Pad to 16:9 (landscape) or 9:16 (portrait) with bars, as video and story formats do."""
    ratio = 16 / 9 if image.width >= image.height else 9 / 16
    if image.width / image.height < ratio:
        size = (round(image.height * ratio), image.height)
    else:
        size = (image.width, round(image.width / ratio))
    canvas = Image.new("RGB", size, colour)
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return canvas


def screenshot(image: Image.Image, colour: tuple[int, int, int] = (24, 24, 28)) -> Image.Image:
    """The photo on a phone screen (9:19.5) with a status bar carrying a clock and icons."""
    width = image.width
    height = max(round(width * 19.5 / 9), image.height + width // 5)
    canvas = Image.new("RGB", (width, height), colour)
    canvas.paste(image, (0, (height - image.height) // 2))
    draw = ImageDraw.Draw(canvas)
    ink = (235, 235, 235) if sum(colour) < 384 else (20, 20, 20)
    unit = max(2, width // 60)
    draw.text((unit * 2, unit), "12:34", fill=ink, font_size=unit * 3)
    for slot in range(3):
        x = width - unit * (4 + slot * 4)
        draw.rectangle((x, unit, x + unit * 2, unit * 3), fill=ink)
    return canvas


def caption(image: Image.Image, text: str = "look at this lol") -> Image.Image:
    """A caption across the lower part, white with a black outline (~8% of the height)."""
    copy = image.convert("RGB")
    draw = ImageDraw.Draw(copy)
    size = max(8, round(copy.height * 0.08))
    draw.text(
        (copy.width // 2, round(copy.height * 0.85)),
        text,
        fill=(255, 255, 255),
        stroke_width=max(1, size // 12),
        stroke_fill=(0, 0, 0),
        font_size=size,
        anchor="mm",
    )
    return copy


#: Named edits, each to be followed by telegram_reencode.
STANDARD_EDITS: dict[str, Edit] = {
    "plain": lambda image: image,
    "jpeg-q50": jpeg_quality(50),
    "resize-0.25": resize(0.25),
    "colour-shift": colour_shift,
    "text-overlay": caption,
    "flip-horizontal": flip_horizontal,
    "rotate-90": rotate90,
    "letterbox": letterbox,
    "screenshot": screenshot,
    "crop-5": anchored_crop(0.05),
    "crop-10": anchored_crop(0.10),
}
