"""The CLI contract other tools rely on: output shapes, exit codes, and one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import synthetic_photo, to_bytes
from shieldwall.adapters.cli.app import app
from shieldwall.media import copies

runner = CliRunner()


@pytest.fixture
def photos(tmp_path: Path, samples: dict[str, bytes]) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, data in samples.items():
        (folder / name).write_bytes(data)
    return folder


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_hash_json_and_bad_file_goes_on(tmp_path: Path, photos: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    code, out, err = run(
        "hash",
        str(photos / "seedling.jpg"),
        str(bad),
        str(photos / "berlin-cathedral.jpg"),
        "--json",
    )
    assert code == 2
    records = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["file"]).name for r in records] == ["seedling.jpg", "berlin-cathedral.jpg"]
    assert set(records[0]) == {"file", "pdq", "quality", "md5", "sha256"}
    assert len(records[0]["pdq"]) == 64 and records[0]["pdq"] == records[0]["pdq"].lower()
    assert err.count("\n") == 1 and "notes.jpg" in err and "not_an_image" in err


def test_hash_missing_file(tmp_path: Path) -> None:
    code, _, err = run("hash", str(tmp_path / "absent.jpg"))
    assert code == 2 and "absent.jpg" in err


def test_bank_workflow(db: str, photos: Path, tmp_path: Path, samples: dict[str, bytes]) -> None:
    assert run("bank", "create", "known")[0] == 0
    code, _, err = run("bank", "create", "known")
    assert code == 2 and "exists already" in err
    code, out, _ = run(
        "bank",
        "add",
        "known",
        str(photos / "berlin-cathedral.jpg"),
        str(photos / "mont-saint-michel.jpg"),
        "--note",
        "n",
        "--case",
        "C-1",
    )
    assert code == 0
    ids = [int(line.split("\t")[0]) for line in out.splitlines()]
    assert len(ids) == 2

    code, out, _ = run("bank", "list", "--json")
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["name"] == "known" and record["kind"] == "known" and record["threshold"] == 31
    assert record["entries"]["active"] == 2

    import io

    from PIL import Image

    flipped = tmp_path / "flipped.jpg"
    flipped.write_bytes(
        copies.telegram_reencode(
            copies.flip_horizontal(Image.open(io.BytesIO(samples["berlin-cathedral.jpg"])))
        )
    )
    code, out, _ = run("match", str(flipped), str(photos / "seedling.jpg"), "--json")
    assert code == 1
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["matches"] == [
        {
            "bank": "known",
            "bank_kind": "known",
            "entry_id": ids[0],
            "signal": "pdq",
            "distance": first["matches"][0]["distance"],
        }
    ]
    assert second == {"file": str(photos / "seedling.jpg"), "matches": []}

    assert run("match", str(photos / "seedling.jpg"))[0] == 0
    assert run("bank", "withdraw", "known", str(ids[0]))[0] == 0
    assert run("match", str(flipped))[0] == 0

    code, exported, _ = run("bank", "export", "known", "--format", "jsonl")
    assert code == 0 and len(exported.splitlines()) == 2
    code, slim, _ = run("bank", "export", "known", "--no-variants")
    assert code == 0
    assert [row.split(",")[3] for row in slim.splitlines()[1:]] == ["original"] * 6
    export_file = tmp_path / "known.jsonl"
    export_file.write_text(exported)
    assert run("bank", "create", "peer")[0] == 0
    code, out, _ = run("bank", "import", "peer", str(export_file))
    assert code == 0 and "imported 2" in out
    code, out, _ = run("bank", "import", "peer", str(export_file))
    assert code == 0 and "imported 0" in out and "skipped 2" in out


def test_add_hash_contract(db: str) -> None:
    run("bank", "create", "hashes", "--kind", "allow", "--threshold", "20")
    code, out, _ = run("bank", "add-hash", "hashes", "--pdq", "AB" * 32)
    assert code == 0 and out.strip().isdigit()
    code, _, err = run("bank", "add-hash", "hashes", "--pdq", "12345")
    assert code == 2 and "64 hex" in err
    code, _, err = run("bank", "add-hash", "hashes", "--md5", "a" * 32, "--sha256", "b" * 64)
    assert code == 2 and "exactly one" in err
    code, _, err = run("bank", "add-hash", "nope", "--md5", "a" * 32)
    assert code == 2 and "no bank named 'nope'" in err


def test_add_text_contract(db: str) -> None:
    run("bank", "create", "adverts", "--kind", "text")
    code, out, err = run("bank", "add-text", "adverts", "@nudify_bot", "undress any girl")
    assert code == 0, err
    assert [line.split("\t")[1] for line in out.splitlines()] == ["username", "phrase"]
    code, out, err = run("bank", "add-text", "adverts", "t.me/nudify_bot", "@ab", "clothoff.io")
    assert code == 2 and "blocked already" in err and "too short" in err
    assert out.strip().endswith("link\tclothoff.io"), "the good pattern is still added"
    code, _, err = run("bank", "add-text", "nope", "@nudify_bot")
    assert code == 2 and "no bank named 'nope'" in err


def test_errors_are_one_line(db: str, photos: Path, tmp_path: Path) -> None:
    code, _, err = run("bank", "add", "missing", str(photos / "seedling.jpg"))
    assert code == 2 and err.strip() == "error: no bank named 'missing'"
    code, _, err = run("bank", "withdraw", "missing", "3")
    assert code == 2 and "no bank named" in err
    run("bank", "create", "b")
    code, _, err = run("bank", "withdraw", "b", "999")
    assert code == 2 and "no entry 999" in err
    bad = tmp_path / "bad.csv"
    bad.write_text(f"signal_type,value\npdq,{'a' * 64}\npdq,nothex\n")
    code, _, err = run("bank", "import", "b", str(bad))
    assert code == 2 and "line 3" in err
    assert run("bank", "export", "b")[1].splitlines()[1:] == []  # nothing was written
    code, _, err = run("bank", "create", "bad name!")
    assert code == 2 and "bank name" in err
    code, _, err = run("bank", "create", "x", "--threshold", "99")
    assert code == 2 and "threshold" in err


def test_match_folder_reports_bad_files_and_goes_on(db: str, photos: Path) -> None:
    (photos / "broken.jpg").write_bytes(to_bytes(synthetic_photo(1))[:300])
    run("bank", "create", "b")
    run("bank", "add", "b", str(photos / "seedling.jpg"))
    code, out, err = run("match", str(photos), "--json")
    assert code == 2  # an error wins over a match, as in grep
    assert len(out.splitlines()) == 4 and "broken.jpg" in err
    assert any(json.loads(line)["matches"] for line in out.splitlines())


def test_unreachable_database_is_a_clean_error(tmp_path: Path) -> None:
    code, _, err = run("bank", "list", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 2 and err.startswith("error: cannot open database")


def test_default_database_is_sqlite_under_var(photos: Path) -> None:
    assert run("bank", "create", "local")[0] == 0
    assert Path("var/shieldwall.db").exists()
    assert os.path.exists("var/shieldwall.db")


def test_demo_runs_and_passes(tmp_path: Path) -> None:
    code, out, _ = run("demo", "--db", f"sqlite:///{tmp_path}/demo.db")
    assert "missed" not in out and "FALSE MATCH" not in out
    assert code == 0


def test_flat_image_is_banked_with_a_warning(db: str, tmp_path: Path) -> None:
    from PIL import Image

    flat = tmp_path / "flat.png"
    Image.new("RGB", (200, 150), (90, 90, 90)).save(flat)
    run("bank", "create", "b")
    code, out, err = run("bank", "add", "b", str(flat))
    assert code == 0 and out.strip().split("\t")[0].isdigit()
    assert "quality" in err and "only exact copies" in err


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from shieldwall.adapters.cli import files

    with files.progress(100, "x") as bar:
        assert bar is None  # under the test runner stderr is not a terminal
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    with files.progress(100, "x") as bar:
        assert bar is not None
        files.advance(bar)
        assert bar.tasks[0].completed == 1
    with files.progress(1, "x") as bar:
        assert bar is None  # one file is not worth a bar


def test_bank_update(db: str, photos: Path) -> None:
    run("bank", "create", "b")
    run("bank", "add", "b", str(photos / "seedling.jpg"))
    assert run("match", str(photos / "seedling.jpg"))[0] == 1
    code, out, _ = run("bank", "update", "b", "--disable", "--threshold", "10")
    assert code == 0 and "threshold 10, region threshold 16, disabled" in out
    assert run("match", str(photos / "seedling.jpg"))[0] == 0
    assert run("bank", "update", "b")[0] == 2
    assert "threshold" in run("bank", "update", "b", "--threshold", "70")[2]


def test_bad_settings_and_urls_are_clean_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHIELDWALL_MAX_IMAGE_BYTES", "lots")
    code, _, err = run("hash", str(tmp_path))
    assert code == 2 and "SHIELDWALL_MAX_IMAGE_BYTES" in err
    monkeypatch.delenv("SHIELDWALL_MAX_IMAGE_BYTES")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("hash", str(empty))
    assert code == 2 and "no image files" in err
    code, _, err = run("bank", "list", "--db", "nosuchdriver://x")
    assert code == 2 and err.startswith("error: cannot open database")
    code, _, err = run("bank", "list", "--db", "postgresql://user:s3cret@127.0.0.1:1/none")
    assert code == 2 and "s3cret" not in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run("bank", "list", "--db", f"sqlite:///{blocker}/sub/x.db")
    assert code == 2 and err.startswith("error: cannot open database")


def test_many_files_are_hashed_in_worker_processes_in_order(
    db: str, tmp_path: Path, samples: dict[str, bytes]
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    names = sorted(samples)
    for number in range(20):
        (folder / f"{number:02d}.jpg").write_bytes(samples[names[number % len(names)]])
    (folder / "07.jpg").write_bytes(b"not an image")
    serial = run("hash", str(folder), "--json", "--jobs", "1")
    parallel = run("hash", str(folder), "--json", "--jobs", "2")
    assert serial == parallel
    code, out, err = parallel
    assert code == 2 and len(out.splitlines()) == 19 and "07.jpg" in err
    run("bank", "create", "b")
    run("bank", "add", "b", str(folder / "00.jpg"))
    code, out, _ = run("match", str(folder), "--json", "--jobs", "2")
    hits = [json.loads(line)["file"] for line in out.splitlines() if json.loads(line)["matches"]]
    same = [n for n in range(20) if n != 7 and names[n % len(names)] == names[0]]
    assert code == 2 and hits == [str(folder / f"{n:02d}.jpg") for n in same]


def test_source_bank_reports_derived_fakes_and_weak_photos(
    db: str, tmp_path: Path, photos: Path, samples: dict[str, bytes]
) -> None:
    import io

    import numpy as np
    from PIL import Image

    from conftest import to_bytes

    code, out, _ = run("bank", "create", "her", "--kind", "source", "--region-threshold", "20")
    assert code == 0 and "region threshold 20" in out
    flat = tmp_path / "sky.png"
    ramp = np.tile(np.linspace(90, 160, 600, dtype=np.uint8), (400, 1))
    flat.write_bytes(to_bytes(Image.fromarray(np.stack([ramp] * 3, axis=2)), "PNG"))
    code, out, err = run("bank", "add", "her", str(photos / "gateway-of-india.jpg"), str(flat))
    assert code == 0 and len(out.splitlines()) == 2
    assert "sky.png: this photo cannot be protected well against derived fakes" in err
    assert "gateway-of-india" not in err

    # A benign "fake": the lower centre of the photo replaced by a flat fill, then re-encoded.
    image = np.asarray(Image.open(io.BytesIO(samples["gateway-of-india.jpg"])).convert("RGB"))
    height, width = image.shape[:2]
    fake = image.copy()
    fake[int(height * 0.35) :, int(width * 0.25) : int(width * 0.75)] = (200, 150, 120)
    fake_path = tmp_path / "fake.jpg"
    fake_path.write_bytes(copies.telegram_reencode(Image.fromarray(fake)))

    code, out, _ = run("match", str(fake_path), "--json")
    assert code == 1
    (match,) = json.loads(out)["matches"]
    assert match["bank"] == "her" and match["signal"] == "region" and match["score"] >= 20
    left, top, right, bottom = match["changed_box"]
    assert left < 0.5 < right and top < 0.7 < bottom
    code, out, _ = run("match", str(fake_path))
    assert code == 1 and "signal=region" in out and "changed=" in out
    assert run("match", str(photos / "seedling.jpg"))[0] == 0
    code, _, err = run("bank", "update", "her", "--region-threshold", "3")
    assert code == 2 and "region threshold must be between 8 and 256" in err
