"""Derived-fake detection: a fake made from a registered photo is matched back to it by what the
fake kept, never to the photo a pasted patch came from; weak photos are flagged; signatures
survive storage, export and import, and bad ones are refused.

Fakes are benign: a lower-centre region of a bundled landscape/building photo replaced by a flat
fill or by the same region of another bundled photo (bench/fakes.py), then re-encoded.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import synthetic_photo, to_bytes
from shieldwall.domain import (
    BankFileError,
    BankKind,
    InvalidArgumentError,
    InvalidHashError,
    Match,
    SignalType,
)
from shieldwall.engine import Runtime
from shieldwall.exchange import BankFileFormat
from shieldwall.media import copies
from shieldwall.signals import MIN_KEYPOINTS, RegionSignature, compute_signals, region_signature

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from fakes import FakeSpec, make_fake, region_mask

DONOR = {
    "berlin-cathedral.jpg": "gateway-of-india.jpg",
    "gateway-of-india.jpg": "mont-saint-michel.jpg",
    "mont-saint-michel.jpg": "berlin-cathedral.jpg",
    "seedling.jpg": "berlin-cathedral.jpg",
}


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def fake_of(samples: dict[str, bytes], name: str, spec: FakeSpec) -> bytes:
    donor = pixels(samples[DONOR[name]])
    image = pixels(samples[name])
    donor = np.asarray(Image.fromarray(donor).resize((image.shape[1], image.shape[0])))
    return copies.telegram_reencode(Image.fromarray(make_fake(image, spec, donor, seed=1)))


@pytest.fixture
def source_bank(runtime: Runtime, samples: dict[str, bytes]) -> dict[str, int]:
    runtime.curator.create_bank("her-photos", BankKind.SOURCE)
    return {
        name: runtime.curator.add_image("her-photos", data, "test").id
        for name, data in samples.items()
    }


def region_matches(runtime: Runtime, data: bytes) -> list[Match]:
    return [m for m in runtime.scanner.scan(data).matches if m.signal is SignalType.REGION]


@pytest.mark.parametrize("fill", ["flat", "patch"])
@pytest.mark.parametrize("share", [0.3, 0.5])
def test_fake_matches_its_source_and_not_the_donor(
    runtime: Runtime,
    samples: dict[str, bytes],
    source_bank: dict[str, int],
    fill: str,
    share: float,
) -> None:
    for name in samples:
        spec = FakeSpec(share, "ellipse", fill)  # type: ignore[arg-type]
        found = region_matches(runtime, fake_of(samples, name, spec))
        assert [m.entry_id for m in found] == [source_bank[name]], name
        evidence = found[0].region
        assert evidence is not None and evidence.score >= 16
        assert evidence.changed_box is not None, name
        # The reported box covers the centre of the replaced region.
        left, top, right, bottom = evidence.changed_box
        assert left < 0.5 < right and top < 0.7 < bottom, (name, evidence.changed_box)


def test_pdq_misses_what_the_region_signature_catches(
    runtime: Runtime, samples: dict[str, bytes], source_bank: dict[str, int]
) -> None:
    fake = fake_of(samples, "gateway-of-india.jpg", FakeSpec(0.5, "rounded-rect", "flat"))
    signals = {m.signal for m in runtime.scanner.scan(fake).matches}
    assert signals == {SignalType.REGION}


def test_changed_box_is_where_the_fake_changed(
    runtime: Runtime, samples: dict[str, bytes], source_bank: dict[str, int]
) -> None:
    spec = FakeSpec(0.4, "rounded-rect", "flat")
    image = pixels(samples["berlin-cathedral.jpg"])
    rows, cols = np.nonzero(region_mask(*image.shape[:2], spec.share, spec.shape))
    h, w = image.shape[:2]
    truth = (cols.min() / w, rows.min() / h, (cols.max() + 1) / w, (rows.max() + 1) / h)
    (match,) = region_matches(runtime, fake_of(samples, "berlin-cathedral.jpg", spec))
    assert match.region is not None and match.region.changed_box is not None
    box = match.region.changed_box
    overlap_w = min(box[2], truth[2]) - max(box[0], truth[0])
    overlap_h = min(box[3], truth[3]) - max(box[1], truth[1])
    inter = max(0.0, overlap_w) * max(0.0, overlap_h)
    union = (
        (box[2] - box[0]) * (box[3] - box[1])
        + (truth[2] - truth[0]) * (truth[3] - truth[1])
        - inter
    )
    assert inter / union > 0.5, (box, truth)


def test_unaltered_copy_matches_with_nothing_changed(
    runtime: Runtime, samples: dict[str, bytes], source_bank: dict[str, int]
) -> None:
    data = copies.telegram_reencode(Image.open(io.BytesIO(samples["mont-saint-michel.jpg"])))
    (match,) = region_matches(runtime, data)
    assert match.entry_id == source_bank["mont-saint-michel.jpg"]
    assert match.region is not None and match.region.changed_share < 0.05


def test_cropped_and_screenshot_fakes_still_match(
    runtime: Runtime, samples: dict[str, bytes], source_bank: dict[str, int]
) -> None:
    fake = Image.open(
        io.BytesIO(fake_of(samples, "gateway-of-india.jpg", FakeSpec(0.4, "ellipse", "flat")))
    )
    for edited in (copies.anchored_crop(0.10, 3)(fake), copies.screenshot(fake)):
        found = region_matches(runtime, copies.telegram_reencode(edited))
        assert [m.entry_id for m in found] == [source_bank["gateway-of-india.jpg"]]


def test_unrelated_photos_do_not_match(runtime: Runtime, source_bank: dict[str, int]) -> None:
    for seed in range(4):
        assert region_matches(runtime, to_bytes(synthetic_photo(seed))) == []


def test_withdrawal_and_threshold_apply_to_region_matches(
    runtime: Runtime, samples: dict[str, bytes], source_bank: dict[str, int]
) -> None:
    fake = fake_of(samples, "seedling.jpg", FakeSpec(0.3, "ellipse", "flat"))
    (match,) = region_matches(runtime, fake)
    assert match.region is not None
    runtime.curator.update_bank("her-photos", region_threshold=match.region.score + 1)
    assert region_matches(runtime, fake) == []
    runtime.curator.update_bank("her-photos", region_threshold=16)
    runtime.curator.withdraw("her-photos", source_bank["seedling.jpg"])
    assert region_matches(runtime, fake) == []
    with pytest.raises(InvalidArgumentError):
        runtime.curator.update_bank("her-photos", region_threshold=2)


def test_only_source_banks_store_region_signatures(
    runtime: Runtime, samples: dict[str, bytes]
) -> None:
    runtime.curator.create_bank("known")
    entry = runtime.curator.add_image("known", samples["seedling.jpg"], "test")
    assert SignalType.REGION not in {s.signal for s in entry.signals}
    assert not runtime.matcher.wants_features()


def test_index_is_rebuilt_from_storage(
    runtime: Runtime, samples: dict[str, bytes], source_bank: dict[str, int]
) -> None:
    runtime.matcher.load()  # as a new process would
    assert runtime.matcher.region_size("her-photos") == 4
    fake = fake_of(samples, "berlin-cathedral.jpg", FakeSpec(0.5, "ellipse", "patch"))
    assert [m.entry_id for m in region_matches(runtime, fake)] == [
        source_bank["berlin-cathedral.jpg"]
    ]


def test_export_import_keeps_region_signatures(
    runtime: Runtime, samples: dict[str, bytes], source_bank: dict[str, int]
) -> None:
    for fmt in BankFileFormat:
        out = io.StringIO()
        runtime.curator.export("her-photos", out, fmt)
        copy = f"copy-{fmt.value}"
        runtime.curator.create_bank(copy, BankKind.SOURCE)
        assert runtime.curator.import_text(copy, out.getvalue(), fmt, "t").added == 4
        partner = io.StringIO()
        runtime.curator.export("her-photos", partner, fmt, variants=False)
        assert "region" not in partner.getvalue()  # whole-image lists carry no signatures
    fake = fake_of(samples, "seedling.jpg", FakeSpec(0.4, "rounded-rect", "patch"))
    banks = sorted(m.bank for m in region_matches(runtime, fake))
    assert banks == ["copy-csv", "copy-jsonl", "her-photos"]


@pytest.mark.parametrize(
    "value",
    ["not base64!", "", "QUJD", "U1dSMQ==" * 10],  # bad text, empty, not a signature, bad header
)
def test_bad_region_signature_in_import_writes_nothing(runtime: Runtime, value: str) -> None:
    runtime.curator.create_bank("s", BankKind.SOURCE)
    text = f"signal_type,value\nmd5,{'a' * 32}\nregion,{value}\n"
    with pytest.raises(BankFileError):
        runtime.curator.import_text("s", text, BankFileFormat.CSV, "t")
    assert sum(runtime.store.count_entries("s").values()) == 0


def test_flat_photo_is_weak(samples: dict[str, bytes]) -> None:
    ramp = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
    flat = to_bytes(Image.fromarray(np.stack([ramp] * 3, axis=2)))
    signature = compute_signals(flat, region=True).region
    assert signature is not None and signature.weak
    strong = compute_signals(samples["gateway-of-india.jpg"], region=True).region
    assert strong is not None and not strong.weak and len(strong.points) >= MIN_KEYPOINTS


def test_signature_round_trip_and_size(samples: dict[str, bytes]) -> None:
    signature = compute_signals(samples["berlin-cathedral.jpg"], region=True).region
    assert signature is not None
    data = signature.to_bytes()
    assert len(data) <= 10_000
    again = RegionSignature.from_bytes(data)
    assert again.to_bytes() == data and again.digest() == signature.digest()
    # Keypoints only where a fake leaves the photo intact: nothing in the lower centre.
    xs, ys = signature.points[:, 0] / 255, signature.points[:, 1] / 255
    assert not np.any((ys > 0.25) & (np.abs(xs - 0.5) < 0.35))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2_000))
def test_signature_parser_rejects_garbage_cleanly(data: bytes) -> None:
    try:
        parsed = RegionSignature.from_bytes(data)
    except InvalidHashError as exc:
        assert str(exc)
    else:  # only a well-formed signature parses, and then exactly
        assert parsed.to_bytes() == data


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 1500),
    st.integers(1, 1500),
    st.integers(0, 2**32 - 1),
)
def test_any_image_shape_gives_a_signature(width: int, height: int, seed: int) -> None:
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    signature = region_signature(noise)
    assert RegionSignature.from_bytes(signature.to_bytes()).to_bytes() == signature.to_bytes()


def test_layout_check_tells_the_kept_area_apart(samples: dict[str, bytes]) -> None:
    from shieldwall.signals import MAX_INTACT_CHANGE, QueryFeatures, compare_layout

    own = compute_signals(samples["berlin-cathedral.jpg"], region=True, features=True)
    other = compute_signals(samples["gateway-of-india.jpg"], features=True)
    assert own.region is not None and own.features is not None and other.features is not None
    signature = own.region

    def placed(features: QueryFeatures) -> np.ndarray:  # registered frame stretched onto the query
        grey = features.grey
        return np.array(
            [[grey.shape[1] / signature.width, 0, 0], [0, grey.shape[0] / signature.height, 0]]
        )

    same = compare_layout(signature, own.features, placed(own.features))
    assert same.intact_changed == 0 and same.changed_box is None
    different = compare_layout(signature, other.features, placed(other.features))
    assert different.intact_changed > MAX_INTACT_CHANGE
