"""The HTTP API in process: auth, scanning and verdicts, banks, keys, audit, reviews, metrics,
bad input. Every test runs on SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageOps

from api_support import Api, StandIn, running_api
from conftest import synthetic_photo, to_bytes
from shieldwall.actions import verify_signature
from shieldwall.domain import verify_chain
from shieldwall.media import copies

SECRET = "hook-secret"


@pytest.fixture
def hooks() -> list[httpx.Request]:
    return []


@pytest.fixture
def api(database_url: str, hooks: list[httpx.Request]) -> Iterator[Api]:
    def receive(request: httpx.Request) -> httpx.Response:
        hooks.append(request)
        return httpx.Response(204)

    with running_api(
        database_url,
        StandIn(),
        httpx.MockTransport(receive),
        webhook_url="https://hooks.example/shieldwall",
        webhook_secret=SECRET,
        max_image_bytes=3_000_000,
    ) as opened:
        yield opened


@pytest.fixture
def known(api: Api, samples: dict[str, bytes]) -> dict[str, int]:
    """A known bank holding the first two samples."""
    r = api.client.post("/v1/banks", json={"name": "ncii"}, headers=api.headers("curate"))
    assert r.status_code == 201, r.text
    ids = {}
    for name in sorted(samples)[:2]:
        r = api.client.post(
            "/v1/banks/ncii/entries",
            files={"file": (name, samples[name], "image/jpeg")},
            headers=api.headers("curate"),
        )
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    return ids


def benign(seed: int = 5) -> bytes:
    return to_bytes(synthetic_photo(seed))


# -- health, docs ------------------------------------------------------------------------------


def test_health_ready_docs_need_no_key(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["storage"] == "ok" and body["ready"] is True
    assert body["classifier"]["name"] == "stand-in"
    assert body["policy_version"].startswith("default-v1+")
    assert api.client.get("/docs").status_code == 200
    spec = api.client.get("/openapi.json").json()
    assert "multipart/form-data" in spec["paths"]["/v1/scan"]["post"]["requestBody"]["content"]


def test_hash_only_service_says_so(database_url: str, samples: dict[str, bytes]) -> None:
    with running_api(database_url, None) as api:
        classifier = api.client.get("/readyz").json()["classifier"]
        assert classifier["state"] == "hash-only" and classifier["name"] is None
        r = api.scan(next(iter(samples.values())))
        assert r.status_code == 200 and r.json()["scores"] == {} and r.json()["classifier"] is None


# -- auth --------------------------------------------------------------------------------------


def test_keys_and_scopes(api: Api) -> None:
    data = benign()
    assert api.client.post("/v1/scan", content=data).status_code == 401
    no_key = api.client.post("/v1/scan", content=data, headers={"content-type": "image/jpeg"})
    assert no_key.status_code == 401 and no_key.headers["www-authenticate"] == "Bearer"
    wrong = {"Authorization": "Bearer swk_aaaaaaaaaa_wrong"}
    assert api.client.post("/v1/scan", content=data, headers=wrong).status_code == 401
    for junk in ("Basic abc", "Bearer", "Bearer " + "x" * 5000):
        r = api.client.get("/v1/banks", headers={"Authorization": junk})
        assert r.status_code == 401, junk
        assert r.json()["error"] == "unauthorized"
    assert api.client.get("/v1/banks", headers=api.headers("scan")).status_code == 403
    assert api.client.get("/v1/keys", headers=api.headers("curate")).status_code == 403
    assert api.scan(data, who="curate").status_code == 403
    assert api.scan(data, who="admin").status_code == 200  # admin holds every scope


def test_key_lifecycle_over_the_api(api: Api) -> None:
    r = api.client.post(
        "/v1/keys", json={"name": "platform", "scopes": ["scan"]}, headers=api.headers()
    )
    assert r.status_code == 201
    created = r.json()
    token = created.pop("key")
    assert token.startswith("swk_") and created["scopes"] == ["scan"]
    listed = api.client.get("/v1/keys", headers=api.headers()).json()
    assert all("key" not in k for k in listed) and created["prefix"] in {
        k["prefix"] for k in listed
    }
    mine = {"Authorization": f"Bearer {token}", "content-type": "image/jpeg"}
    assert api.client.post("/v1/scan", content=benign(), headers=mine).status_code == 200
    gone = api.client.delete(f"/v1/keys/{created['prefix']}", headers=api.headers())
    assert gone.status_code == 200 and gone.json()["revoked_at"]
    assert api.client.post("/v1/scan", content=benign(), headers=mine).status_code == 401
    bad = api.client.post("/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=api.headers())
    assert bad.status_code == 422 and "unknown scope" in bad.json()["detail"]
    events = [e["event"] for e in api.client.get("/v1/audit", headers=api.headers()).json()]
    assert events.count("key.created") == 4 and events.count("key.revoked") == 1


def test_keys_are_stored_as_digests(api: Api) -> None:
    from sqlalchemy import text

    with api.runtime.engine.connect() as connection:
        stored = " ".join(str(row) for row in connection.execute(text("SELECT * FROM api_keys")))
    for token in api.keys.values():
        assert token not in stored and token.split("_")[2] not in stored


# -- scanning and verdicts ----------------------------------------------------------------------


def test_benign_upload_is_allowed(api: Api) -> None:
    r = api.scan(benign())
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "allow" and body["matches"] == []
    assert body["scores"] == {"explicit": 0.01}
    assert set(body["signals"]) == {"pdq", "pdq_quality", "md5", "sha256"}
    assert body["actions"] == [] and body["policy_version"].startswith("default-v1+")
    assert set(body["timings_ms"]) == {"decode", "signals", "match", "classify", "decide"}


def test_known_image_and_edited_copies_are_blocked(
    api: Api, known: dict[str, int], samples: dict[str, bytes], hooks: list[httpx.Request]
) -> None:
    name = sorted(known)[0]
    original = Image.open(io.BytesIO(samples[name]))
    copies_of = {
        "same bytes": samples[name],
        "re-encoded, flipped": copies.telegram_reencode(ImageOps.mirror(original)),
        "letterboxed": to_bytes(ImageOps.pad(original, (900, 900), color="black")),
    }
    for label, data in copies_of.items():
        body = api.scan(data, reference=f"upload-{label}").json()
        assert body["verdict"] == "block", label
        assert body["reasons"][0]["code"] == "known_match"
        assert {m["entry_id"] for m in body["matches"]} == {known[name]}
        assert body["scores"] == {}, "no model run when a known match blocks anyway"
        assert [(a["action"], a["status"]) for a in body["actions"]] == [("notify", "queued")]
    # The notify action queued a signed webhook; the sender thread delivers it.
    for _ in range(300):
        if len(hooks) >= 3:
            break
        time.sleep(0.01)
    assert len(hooks) == 3
    hook = hooks[0]
    assert verify_signature(
        SECRET,
        hook.headers["x-shieldwall-timestamp"],
        hook.content.decode(),
        hook.headers["x-shieldwall-signature"],
    )
    assert b'"verdict": "block"' in hook.content and samples[name][:64] not in hook.content


def test_allow_bank_wins(api: Api, known: dict[str, int], samples: dict[str, bytes]) -> None:
    name = sorted(known)[0]
    h = api.headers("curate")
    api.client.post("/v1/banks", json={"name": "fp", "kind": "allow"}, headers=h)
    api.client.post("/v1/banks/fp/entries", files={"file": ("a", samples[name])}, headers=h)
    body = api.scan(samples[name]).json()
    assert body["verdict"] == "allow" and body["reasons"][0]["code"] == "allow_match"


def test_explicit_without_match_goes_to_review(api: Api) -> None:
    assert api.classifier is not None
    api.classifier.score = 0.97
    body = api.scan(benign(), reference="post-123").json()
    assert body["verdict"] == "review" and body["reasons"][0]["code"] == "explicit_no_match"
    [quarantine] = [a for a in body["actions"] if a["action"] == "quarantine"]
    review_id = quarantine["detail"]["review_id"]
    queue = api.client.get("/v1/reviews", headers=api.headers("curate")).json()
    assert [(r["id"], r["scan_id"], r["source"]) for r in queue] == [
        (review_id, body["scan_id"], "api:scan:post-123")
    ]
    decided = api.client.post(
        f"/v1/reviews/{review_id}", json={"outcome": "allowed"}, headers=api.headers("curate")
    )
    assert decided.status_code == 200 and decided.json()["status"] == "allowed"
    again = api.client.post(
        f"/v1/reviews/{review_id}", json={"outcome": "blocked"}, headers=api.headers("curate")
    )
    assert again.status_code == 422
    events = api.client.get(f"/v1/scans/{body['scan_id']}", headers=api.headers("curate"))
    assert [e["event"] for e in events.json()] == [
        "scan.decided",
        "action.record",
        "action.quarantine",
        "review.decided",
    ]


def test_derived_fake_blocks_only_with_an_explicit_score(
    api: Api, samples: dict[str, bytes]
) -> None:
    from test_derived import FakeSpec, fake_of

    name = "gateway-of-india.jpg"
    h = api.headers("curate")
    api.client.post("/v1/banks", json={"name": "her", "kind": "source"}, headers=h)
    api.client.post("/v1/banks/her/entries", files={"file": ("a", samples[name])}, headers=h)
    fake = fake_of(samples, name, FakeSpec(0.4, "ellipse", "flat"))
    assert api.classifier is not None
    api.classifier.score = 0.2
    unconfirmed = api.scan(fake).json()
    assert unconfirmed["verdict"] == "review"
    assert unconfirmed["reasons"][0]["code"] == "derived_unconfirmed"
    [region] = [m for m in unconfirmed["matches"] if m["signal"] == "region"]
    assert region["bank"] == "her" and region["score"] >= 16 and region["changed_box"]
    api.classifier.score = 0.95
    confirmed = api.scan(fake).json()
    assert confirmed["verdict"] == "block" and confirmed["reasons"][0]["code"] == "derived_explicit"


def test_match_by_hash(api: Api, known: dict[str, int]) -> None:
    name = sorted(known)[0]
    entry = api.client.get(f"/v1/banks/ncii/entries/{known[name]}", headers=api.headers()).json()
    pdq = next(s["value"] for s in entry["signals"] if s["signal"] == "pdq")
    r = api.client.post("/v1/match", json={"pdq": pdq.upper()}, headers=api.headers("scan"))
    assert r.status_code == 200 and r.json()["verdict"] == "block"
    miss = api.client.post("/v1/match", json={"md5": "0" * 32}, headers=api.headers("scan"))
    assert miss.json()["verdict"] == "allow"
    for bad in ({"pdq": "xyz"}, {"md5": "0" * 31}, {}, {"pdq": 5}, {"sha256": "a" * 64, "x": 1}):
        r = api.client.post("/v1/match", json=bad, headers=api.headers("scan"))
        assert r.status_code == 422, bad
        assert set(r.json()) == {"error", "detail"}


def test_hash_endpoint_gives_signals_and_records_nothing(api: Api) -> None:
    before = api.runtime.audit.count()
    r = api.client.post(
        "/v1/hash",
        content=benign(),
        headers={**api.headers("scan"), "content-type": "image/jpeg"},
    )
    assert r.status_code == 200
    body = r.json()
    assert len(body["pdq"]) == 64 and body["pdq_quality"] > 50 and "original" in body["query_pdq"]
    assert api.runtime.audit.count() == before


# -- bad input ----------------------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    return benign()[:2000]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b"", "image/jpeg", 422, "empty"),
        (b"hello", "image/jpeg", 415, "not_an_image"),
        (b"hello", "text/plain", 415, "unsupported_media_type"),
        (b"{}", "application/json", 415, "unsupported_media_type"),
        (b"--x\r\n\r\n", "multipart/form-data", 422, "bad_multipart"),
        (b"--x--\r\n", "multipart/form-data; boundary=x", 422, "missing_file"),
        (b"\x00" * 3_000_001, "image/png", 413, "too_many_bytes"),
    ],
)
def test_bad_bodies(api: Api, content: bytes, content_type: str, status: int, error: str) -> None:
    r = api.client.post(
        "/v1/scan", content=content, headers={**api.headers("scan"), "content-type": content_type}
    )
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert r.json()["detail"]


def test_bad_images(api: Api) -> None:
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 MP in ~60 KB
    cases = {
        "truncated": (truncated_jpeg(), 422),
        "bomb": (bomb.getvalue(), 413),
        "gif frame": (to_bytes(synthetic_photo(1), "GIF"), 200),
    }
    for label, (data, status) in cases.items():
        r = api.scan(data)
        assert r.status_code == status, (label, r.text)
    metrics = api.client.get("/metrics").text
    assert 'shieldwall_errors_total{kind="truncated"} 1.0' in metrics
    assert 'shieldwall_errors_total{kind="too_many_pixels"} 1.0' in metrics


def test_overload_is_shed_with_503(api: Api) -> None:
    state = api.client.app.state.shieldwall  # type: ignore[attr-defined]
    state.admission.limit = 0
    r = api.scan(benign())
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json()["error"] == "overloaded"
    state.admission.limit = 4
    assert api.scan(benign()).status_code == 200
    assert "shieldwall_shed_total 1.0" in api.client.get("/metrics").text


# -- banks --------------------------------------------------------------------------------------


def test_bank_operations(api: Api, known: dict[str, int], samples: dict[str, bytes]) -> None:
    h = api.headers("curate")
    dup = api.client.post("/v1/banks", json={"name": "ncii"}, headers=h)
    assert dup.status_code == 409 and dup.json()["error"] == "bank_exists"
    bad = api.client.post("/v1/banks", json={"name": "no spaces"}, headers=h)
    assert bad.status_code == 422
    assert api.client.get("/v1/banks/nope", headers=h).status_code == 404
    [bank] = api.client.get("/v1/banks", headers=h).json()
    assert bank["name"] == "ncii" and bank["indexed"]["pdq"] > 0
    r = api.client.post(
        "/v1/banks/ncii/hashes", json={"signal": "md5", "value": "ab" * 16}, headers=h
    )
    assert r.status_code == 201
    r = api.client.post("/v1/banks/ncii/hashes", json={"signal": "md5", "value": "zz"}, headers=h)
    assert r.status_code == 422 and r.json()["error"] == "bad_hash"
    # Export, import into a fresh bank: the copy matches too.
    exported = api.client.get("/v1/banks/ncii/export?format=jsonl", headers=h)
    assert exported.status_code == 200 and exported.text.count("\n") == 3
    api.client.post("/v1/banks", json={"name": "copy"}, headers=h)
    imported = api.client.post(
        "/v1/banks/copy/import?format=jsonl", content=exported.text.encode(), headers=h
    )
    assert imported.json() == {"added": 3, "skipped": 0}
    again = api.client.post(
        "/v1/banks/copy/import?format=jsonl", content=exported.text.encode(), headers=h
    )
    assert again.json() == {"added": 0, "skipped": 3}
    broken = api.client.post("/v1/banks/copy/import", content=b"{not json", headers=h)
    assert broken.status_code == 422 and broken.json()["error"] == "bad_bank_file"
    api.client.patch("/v1/banks/copy", json={"enabled": False}, headers=h)
    # Withdraw: the very next scan no longer matches.
    name = sorted(known)[0]
    assert api.scan(samples[name]).json()["verdict"] == "block"
    r = api.client.post(f"/v1/banks/ncii/entries/{known[name]}/withdraw", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert api.scan(samples[name]).json()["verdict"] == "allow"
    counts = api.client.get("/v1/banks/ncii", headers=h).json()["entries"]
    assert counts["withdrawn"] == 1


def test_text_banks_over_the_api(api: Api) -> None:
    h = api.headers("curate")
    r = api.client.post("/v1/banks", json={"name": "adverts", "kind": "text"}, headers=h)
    assert r.status_code == 201 and r.json()["scope"] is None
    r = api.client.post("/v1/banks/adverts/texts", json={"pattern": "@nudify_bot"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["signals"][0]["variant"] == "username"
    again = api.client.post(
        "/v1/banks/adverts/texts", json={"pattern": "t.me/nudify_bot"}, headers=h
    )
    assert again.status_code == 409 and again.json()["error"] == "entry_exists"
    short = api.client.post("/v1/banks/adverts/texts", json={"pattern": "@ab"}, headers=h)
    assert short.status_code == 422 and "too short" in short.json()["detail"]
    wrong = api.client.post(
        "/v1/banks/adverts/hashes", json={"signal": "text", "value": "x"}, headers=h
    )
    assert wrong.status_code == 422 and "/texts" in wrong.json()["detail"]
    [bank] = api.client.get("/v1/banks", headers=h).json()
    assert bank["indexed"]["text"] == 1
    scoped = api.client.post(
        "/v1/banks", json={"name": "g1", "kind": "allow", "scope": "telegram:-100"}, headers=h
    )
    assert scoped.status_code == 201 and scoped.json()["scope"] == "telegram:-100"


# -- audit, metrics, privacy --------------------------------------------------------------------


def test_every_decision_is_in_an_intact_chain(api: Api, known: dict[str, int]) -> None:
    ids = [api.scan(benign(seed)).json()["scan_id"] for seed in range(3)]
    decided = [e for e in api.runtime.audit.iter_events() if e.event == "scan.decided"]
    assert [e.subject for e in decided] == ids
    verified = api.client.get("/v1/audit/verify", headers=api.headers()).json()
    assert verified["ok"] is True and verified["checked"] == api.runtime.audit.count()
    assert verify_chain(api.runtime.audit.iter_events()).ok
    assert api.client.get("/v1/audit", headers=api.headers("curate")).status_code == 403


def test_metrics(api: Api, known: dict[str, int], samples: dict[str, bytes]) -> None:
    api.scan(benign())
    api.scan(samples[sorted(known)[0]])
    text = api.client.get("/metrics").text
    assert 'shieldwall_scans_total{verdict="allow",via="scan"} 1.0' in text
    assert 'shieldwall_scans_total{verdict="block",via="scan"} 1.0' in text
    assert 'shieldwall_index_size{bank="ncii",signal="pdq"}' in text
    assert "shieldwall_match_seconds_count 2.0" in text
    assert 'shieldwall_scan_stage_seconds_count{stage="decode"} 2.0' in text


def _files_under(root: Path, since: float) -> Iterator[Path]:
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            try:
                if path.is_file() and path.stat().st_mtime >= since:
                    yield path
            except OSError:
                continue


def test_no_image_bytes_are_written_anywhere(
    api: Api, known: dict[str, int], tmp_path: Path
) -> None:
    """Scan a batch (blocked, reviewed, allowed), then look for the images' bytes in ./var, the
    database and the temp dir."""
    started = time.time() - 1
    assert api.classifier is not None
    images = [benign(seed) for seed in range(40, 46)]
    for i, data in enumerate(images):
        api.classifier.score = 0.95 if i % 2 else 0.01
        assert api.scan(data, reference=f"r{i}").status_code == 200
    api.runtime.engine.dispose()  # flush SQLite's WAL into the file
    needles = [data[i : i + 48] for data in images for i in (200, len(data) // 2, len(data) - 100)]
    roots = {Path.cwd(), tmp_path, Path(tempfile.gettempdir())}
    checked = 0
    for root in roots:
        for path in _files_under(root, started):
            content = path.read_bytes()
            checked += 1
            assert not any(n in content for n in needles), f"image bytes found in {path}"
    assert checked > 0
