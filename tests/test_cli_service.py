"""CLI for running and administering the service: apikey, audit, policy, serve."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from shieldwall.engine.policy import default_policy_text
from test_cli import run


def test_apikey_create_list_revoke(db: str) -> None:
    code, out, err = run("apikey", "create", "--scope", "scan,curate", "--name", "platform")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("swk_") and "shown only now" in err
    prefix = token.split("_")[1]
    code, out, _ = run("apikey", "list")
    assert code == 0 and prefix in out and "curate,scan" in out and "active" in out
    assert token not in out
    assert run("apikey", "revoke", prefix)[0] == 0
    assert "revoked" in run("apikey", "list")[1]
    code, _, err = run("apikey", "revoke", "nosuchkey")
    assert code == 2 and "no API key" in err
    code, _, err = run("apikey", "create", "--scope", "root")
    assert code == 2 and "unknown scope 'root'" in err


def test_audit_verify_names_the_first_broken_event(db: str) -> None:
    assert run("bank", "create", "ncii")[0] == 0
    assert run("bank", "add-hash", "ncii", "--md5", "ab" * 16)[0] == 0
    assert run("bank", "update", "ncii", "--threshold", "20")[0] == 0
    code, out, _ = run("audit", "verify")
    assert code == 0 and "intact: 3 events" in out
    code, out, _ = run("audit", "tail", "--limit", "2")
    assert code == 0 and [line.count('"event"') for line in out.splitlines()] == [1, 1]
    assert '"bank.updated"' in out.splitlines()[-1]
    engine = create_engine(db)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    engine.dispose()
    code, _, err = run("audit", "verify")
    assert code == 2 and "BROKEN at event 2" in err and "1 events before it" in err


def test_policy_show_and_check(tmp_path: Path) -> None:
    code, out, _ = run("policy", "show")
    assert code == 0 and out == default_policy_text()
    good = tmp_path / "ok.toml"
    good.write_text(out.replace('without_match = "review"', 'without_match = "allow"'))
    code, out, _ = run("policy", "check", str(good))
    assert code == 0 and "is valid" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[actions]\nblock = ["explode"]\n')
    code, _, err = run("policy", "check", str(bad))
    assert code == 2 and "unknown action 'explode'" in err


def test_a_bad_policy_file_stops_every_command(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[explicit]\nthreshold = 7\n")
    monkeypatch.setenv("SHIELDWALL_POLICY_FILE", str(bad))
    code, _, err = run("bank", "list")
    assert code == 2 and "between 0 and 1" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_the_api(tmp_path: Path) -> None:
    """The README's run command, for real: a process listening on a port."""
    url = f"sqlite:///{tmp_path}/serve.db"
    env = {"SHIELDWALL_DATABASE_URL": url, "SHIELDWALL_CLASSIFIER": "none", "PATH": ""}
    port = _free_port()
    key = subprocess.run(
        [sys.executable, "-m", "shieldwall", "apikey", "create", "--scope", "scan"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "shieldwall", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            pytest.fail("the server did not start")
        assert ready.json()["classifier"]["state"] == "hash-only"
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/match",
            json={"md5": "0" * 32},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200 and r.json()["verdict"] == "allow"
    finally:
        server.terminate()
        server.wait(timeout=30)
        assert server.stdout is not None
        server.stdout.close()
