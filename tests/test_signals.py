"""Signals: PDQ format interoperability, dihedral forms, border trimming, exact digests."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pdqhash
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from conftest import synthetic_photo, to_bytes
from shieldwall.media import copies, decode_image, trim_uniform_borders
from shieldwall.signals import (
    DEFAULT_WINDOWS,
    DIHEDRAL_NAMES,
    compute_signals,
    pdq_dihedral,
    pdq_hash,
)
from shieldwall.signals.pdq import bits_to_hex


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@given(st.lists(st.integers(0, 1), min_size=256, max_size=256))
def test_hex_is_threatexchange_format(bits: list[int]) -> None:
    """ThreatExchange/HMA write the 256 bits most significant first as 64 lowercase hex."""
    expected = "%0*x" % (64, int("".join(map(str, bits)), 2))  # noqa: UP031 - their formula
    assert bits_to_hex(np.array(bits)) == expected


def test_pdq_equals_the_reference_bindings_on_the_same_pixels() -> None:
    pixels = np.asarray(synthetic_photo(1, (400, 300)))
    bits, quality = pdqhash.compute(pixels)
    ours = pdq_hash(pixels)
    assert ours.hex == bits_to_hex(bits) and ours.quality == quality


def test_downscaling_before_pdq_barely_moves_the_hash(samples: dict[str, bytes]) -> None:
    for data in samples.values():
        full = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        big = np.asarray(Image.fromarray(full).resize((full.shape[1] * 3, full.shape[0] * 3)))
        bits, _ = pdqhash.compute(big)
        # PDQ of the full-size image, as a system that does not downscale computes it, stays well
        # inside the match threshold of ours (measured up to 14 of 256 bits on the samples).
        assert distance(pdq_hash(big).hex, bits_to_hex(bits)) <= 16


def test_dihedral_forms_recover_flips_and_rotations_exactly() -> None:
    pixels = np.asarray(synthetic_photo(2, (320, 240)))
    original = pdq_hash(pixels).hex
    assert len(DIHEDRAL_NAMES) == 8
    for transformed in (
        pixels[:, ::-1],
        pixels[::-1],
        np.rot90(pixels),
        np.rot90(pixels, 3),
        pixels.transpose(1, 0, 2),
    ):
        forms = [h.hex for h in pdq_dihedral(np.ascontiguousarray(transformed))]
        assert min(distance(original, f) for f in forms) <= 2


def test_flat_image_has_low_quality() -> None:
    flat = np.full((200, 300, 3), 90, dtype=np.uint8)
    assert pdq_hash(flat).quality < 50
    assert pdq_hash(np.asarray(synthetic_photo(3))).quality >= 50


def test_trim_removes_letterbox_and_screenshot_bars() -> None:
    photo = synthetic_photo(4, (600, 400))
    for framed in (
        copies.letterbox(photo),
        copies.screenshot(photo),
        copies.letterbox(photo, (255, 255, 255)),
    ):
        pixels = decode_image(copies.telegram_reencode(framed)).pixels
        trimmed, _ = trim_uniform_borders(pixels)
        assert abs(trimmed.shape[1] / trimmed.shape[0] - 1.5) < 0.04


def test_trim_leaves_photos_and_flat_images_alone(samples: dict[str, bytes]) -> None:
    for data in samples.values():
        pixels = decode_image(data).pixels
        assert trim_uniform_borders(pixels)[0].shape == pixels.shape
    flat = np.full((100, 100, 3), 7, dtype=np.uint8)
    assert trim_uniform_borders(flat)[0].shape == flat.shape


def test_compute_signals_bank_and_query_side(samples: dict[str, bytes]) -> None:
    data = samples["berlin-cathedral.jpg"]
    bank = compute_signals(data, crops=DEFAULT_WINDOWS)
    assert bank.md5 == hashlib.md5(data).hexdigest()
    assert bank.sha256 == hashlib.sha256(data).hexdigest()
    assert len(bank.crops) == len(DEFAULT_WINDOWS) == 18
    stored = bank.entry_signals()
    assert [s.variant for s in stored[:3]] == ["original", "original", "original"]
    assert len(stored) == 3 + len(DEFAULT_WINDOWS)
    query = compute_signals(data, dihedral=True)
    assert [name for name, _ in query.query_pdq()] == list(DIHEDRAL_NAMES)
    assert query.pdq == bank.pdq  # the same canonical hash on both sides


def test_letterboxed_query_keeps_untrimmed_hash_too() -> None:
    photo = synthetic_photo(5, (600, 400))
    signals = compute_signals(to_bytes(copies.letterbox(photo)), dihedral=True)
    assert signals.trimmed_box is not None and signals.untrimmed_pdq is not None
    assert [name for name, _ in signals.query_pdq()][-1] == "untrimmed"
