"""Matching end to end through the engine: robustness to re-sharing edits, freshness of adds and
withdrawals, per-bank thresholds, and import/export."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from conftest import synthetic_photo, to_bytes
from shieldwall.domain import (
    BankFileError,
    BankNotFoundError,
    EntryStatus,
    InvalidHashError,
    SignalType,
)
from shieldwall.engine import Runtime, open_runtime
from shieldwall.exchange import BankFileFormat
from shieldwall.media import copies


def image_of(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def pdq_entries(runtime: Runtime, data: bytes) -> dict[int, int]:
    return {
        m.entry_id: m.distance
        for m in runtime.scanner.scan(data).matches
        if m.signal is SignalType.PDQ
    }


@pytest.fixture
def banked(runtime: Runtime, samples: dict[str, bytes]) -> dict[str, int]:
    runtime.curator.create_bank("known")
    return {
        name: runtime.curator.add_image("known", data, "test").id
        for name, data in samples.items()
        if name != "seedling.jpg"
    }


@pytest.mark.parametrize(
    "edit",
    [
        "plain",
        "jpeg-q50",
        "colour-shift",
        "text-overlay",
        "flip-horizontal",
        "rotate-90",
        "letterbox",
    ],
)
def test_edited_copies_match_their_original_only(
    runtime: Runtime, samples: dict[str, bytes], banked: dict[str, int], edit: str
) -> None:
    for name, entry_id in banked.items():
        copy = copies.telegram_reencode(copies.STANDARD_EDITS[edit](image_of(samples[name])))
        found = pdq_entries(runtime, copy)
        assert list(found) == [entry_id], (name, edit, found)


def test_unrelated_photo_matches_nothing(
    runtime: Runtime, samples: dict[str, bytes], banked: dict[str, int]
) -> None:
    assert runtime.scanner.scan(samples["seedling.jpg"]).matches == []
    assert runtime.scanner.scan(to_bytes(synthetic_photo(5))).matches == []


def test_exact_copy_matches_by_every_signal(
    runtime: Runtime, samples: dict[str, bytes], banked: dict[str, int]
) -> None:
    name = "berlin-cathedral.jpg"
    matches = runtime.scanner.scan(samples[name]).matches
    assert {(m.signal, m.distance) for m in matches} == {
        (SignalType.PDQ, 0),
        (SignalType.MD5, 0),
        (SignalType.SHA256, 0),
    }
    assert {m.entry_id for m in matches} == {banked[name]}


def test_add_and_withdraw_take_effect_on_the_next_match(
    runtime: Runtime, samples: dict[str, bytes]
) -> None:
    runtime.curator.create_bank("fresh")
    data = samples["gateway-of-india.jpg"]
    copy = copies.telegram_reencode(image_of(data))
    assert runtime.scanner.scan(copy).matches == []
    entry = runtime.curator.add_image("fresh", data, "test")
    assert list(pdq_entries(runtime, copy)) == [entry.id]
    assert runtime.matcher.size("fresh") == sum(s.signal is SignalType.PDQ for s in entry.signals)
    runtime.curator.withdraw("fresh", entry.id)
    assert runtime.matcher.size("fresh") == 0
    assert runtime.scanner.scan(copy).matches == []
    assert runtime.scanner.scan(data).matches == []  # exact digests are withdrawn too
    # A second process building from storage agrees.
    other = open_runtime(str(runtime.engine.url.render_as_string(hide_password=False)))
    try:
        assert other.scanner.scan(data).matches == []
        runtime.curator.reinstate("fresh", entry.id)
        other.matcher.load()
        assert [m.entry_id for m in other.scanner.scan(data).matches] == [entry.id] * 3
    finally:
        other.close()


def test_bank_threshold_and_enabled_flag_apply(runtime: Runtime) -> None:
    runtime.curator.create_bank("strict", pdq_threshold=0)
    value = "0f" * 32
    runtime.curator.add_hash("strict", SignalType.PDQ, value, "test")
    near = f"{int(value, 16) ^ 0b111:064x}"  # 3 bits away
    from shieldwall.engine import QueryHashes

    assert runtime.matcher.match(QueryHashes(pdq=[("original", near)])) == []
    runtime.curator.update_bank("strict", pdq_threshold=3)
    assert [m.distance for m in runtime.matcher.match(QueryHashes(pdq=[("original", near)]))] == [3]
    runtime.curator.update_bank("strict", enabled=False)
    assert runtime.matcher.match(QueryHashes(pdq=[("original", near)])) == []


def test_low_quality_hashes_are_kept_but_never_matched(runtime: Runtime) -> None:
    flat = to_bytes(Image.new("RGB", (300, 200), (128, 128, 128)), "PNG")
    runtime.curator.create_bank("b")
    entry = runtime.curator.add_image("b", flat, "test")
    pdq = [s for s in entry.signals if s.signal is SignalType.PDQ and s.variant == "original"]
    assert pdq and pdq[0].quality is not None and pdq[0].quality < 50
    matches = runtime.scanner.scan(
        to_bytes(Image.new("RGB", (300, 200), (120, 120, 120)), "PNG")
    ).matches
    assert matches == []
    assert {m.signal for m in runtime.scanner.scan(flat).matches} == {
        SignalType.MD5,
        SignalType.SHA256,
    }


def test_add_hash_validates(runtime: Runtime) -> None:
    runtime.curator.create_bank("b")
    with pytest.raises(InvalidHashError):
        runtime.curator.add_hash("b", SignalType.PDQ, "xyz", "test")
    with pytest.raises(InvalidHashError):
        runtime.curator.add_hash("b", SignalType.MD5, "0" * 31, "test")
    with pytest.raises(BankNotFoundError):
        runtime.curator.add_hash("nope", SignalType.MD5, "0" * 32, "test")
    entry = runtime.curator.add_hash("b", SignalType.MD5, "A" * 32, "test")
    assert entry.signals[0].value == "a" * 32


@pytest.mark.parametrize("fmt", list(BankFileFormat))
def test_export_import_round_trip_is_idempotent(
    runtime: Runtime, samples: dict[str, bytes], banked: dict[str, int], fmt: BankFileFormat
) -> None:
    runtime.curator.withdraw("known", banked["berlin-cathedral.jpg"])
    out = io.StringIO()
    assert runtime.curator.export("known", out, fmt) == len(banked)
    runtime.curator.create_bank("copy")
    first = runtime.curator.import_text("copy", out.getvalue(), fmt, "import")
    second = runtime.curator.import_text("copy", out.getvalue(), fmt, "import")
    assert (first.added, first.skipped) == (len(banked), 0)
    assert (second.added, second.skipped) == (0, len(banked))
    originals = {tuple(e.signals): e.status for e in runtime.store.iter_entries("known")}
    copied = {tuple(e.signals): e.status for e in runtime.store.iter_entries("copy")}
    assert copied == originals
    assert EntryStatus.WITHDRAWN in copied.values()
    # The imported bank matches like the original.
    copy = copies.telegram_reencode(image_of(samples["gateway-of-india.jpg"]))
    assert {m.bank for m in runtime.scanner.scan(copy).matches} == {"known", "copy"}


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        (BankFileFormat.CSV, f"signal_type,value\npdq,{'a' * 64}\npdq,{'z' * 64}\n"),
        (BankFileFormat.CSV, f"signal_type,value\nmd5,{'a' * 32}\nvideo,{'a' * 32}\n"),
        (BankFileFormat.CSV, "hash\nabc\n"),
        (
            BankFileFormat.JSONL,
            '{"signals":[{"type":"md5","value":"' + "a" * 32 + '"}]}\n{not json\n',
        ),
        (
            BankFileFormat.JSONL,
            '{"signals":[{"type":"md5","value":"' + "a" * 32 + '"}]}\n{"signals":[]}\n',
        ),
        (
            BankFileFormat.JSONL,
            '{"signals":[{"type":"md5","value":"' + "a" * 32 + '"}],"status":"gone"}\n',
        ),
    ],
)
def test_bad_import_writes_nothing(runtime: Runtime, fmt: BankFileFormat, text: str) -> None:
    runtime.curator.create_bank("b")
    with pytest.raises(BankFileError, match=r"line|header"):
        runtime.curator.import_text("b", text, fmt, "import")
    assert list(runtime.store.iter_entries("b")) == []


def test_plain_hash_list_imports_one_entry_per_row(runtime: Runtime) -> None:
    runtime.curator.create_bank("b")
    text = f"signal_type,value\npdq,{'a' * 64}\nmd5,{'b' * 32}\n"
    assert runtime.curator.import_text("b", text, BankFileFormat.CSV, "list").added == 2
    assert [e.added_by for e in runtime.store.iter_entries("b")] == ["list", "list"]
    # A listed PDQ has no quality score; it is trusted and matched, here and after a restart.
    from shieldwall.engine import QueryHashes

    query = QueryHashes(pdq=[("original", "a" * 64)], md5="b" * 32)
    assert [m.signal for m in runtime.matcher.match(query)] == [SignalType.PDQ, SignalType.MD5]
    runtime.matcher.load()
    assert len(runtime.matcher.match(query)) == 2


def test_matching_from_threads_while_banks_change(runtime: Runtime) -> None:
    """Searches in several threads while another adds and withdraws: no error, and the end state
    matches exactly what storage says."""
    import threading

    import numpy as np

    from shieldwall.engine import QueryHashes

    runtime.curator.create_bank("busy")
    rng = np.random.default_rng(5)
    values = [rng.bytes(32).hex() for _ in range(120)]
    errors: list[BaseException] = []
    done = threading.Event()

    def searcher() -> None:
        try:
            while not done.is_set():
                for value in values[:20]:
                    runtime.matcher.match(QueryHashes(pdq=[("original", value)]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    added = [runtime.curator.add_hash("busy", SignalType.PDQ, v, "t").id for v in values]
    for entry_id in added[::3]:
        runtime.curator.withdraw("busy", entry_id)
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []
    withdrawn = set(added[::3])
    for entry_id, value in zip(added, values, strict=True):
        found = [m.entry_id for m in runtime.matcher.match(QueryHashes(pdq=[("original", value)]))]
        assert found == ([] if entry_id in withdrawn else [entry_id])
