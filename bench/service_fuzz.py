"""Fuzzing POST /v1/scan against the real service: ``shieldwall serve`` (uvicorn) in its own
process on a temporary SQLite database, so that a crash, a 500 or unbounded memory shows.

Hypothesis generates the inputs (deterministic for a given --seed): random bytes; image magic plus
random bytes; truncated, bit-flipped and spliced JPEG/PNG/WebP/GIF/TIFF/BMP of synthetic images;
decompression bombs and headers declaring huge dimensions; valid images (some matching a small
known bank, so the block path and its actions run); wrong content types; malformed multipart
(no boundary, no file part, garbage parts, enormous headers, over-long boundaries); empty bodies;
bodies over the byte limit (raw, multipart, chunked, or only declared); bad Authorization headers;
and malformed HTTP sent on a raw socket (bad Content-Length, a client that hangs up mid-body).

Checks: no answer >= 500 other than 503; every error is JSON {"error", "detail"}; the server's
own count of internal errors (/metrics) does not move, which also catches a 500 whose client had
gone; the process is alive at the end; its RSS is sampled at start, every 2,000 inputs and at
the end (its log is kept as bench/.cache/service_fuzz_server.log). Images are synthetic (numpy)
or the benign photos bundled in shieldwall/samples.

    .venv/bin/python bench/service_fuzz.py [--inputs 10000] [--seed 20240601]
        [--max-bytes 2097152] [--classifier opennsfw|none]
    .venv/bin/python bench/service_fuzz.py --bomb-memory   # peak RSS per decompression bomb
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings

from fuzz_images import UNDER_LIMIT, Sample, bank_images, bomb_pool, image_pool
from fuzz_inputs import Case, Material, cases
from fuzz_report import Tally, report, unhandled_exceptions
from fuzz_send import Answer, send
from machine import load_average
from reporting import table
from service_process import Server

MiB = 1024 * 1024


def fuzz(server: Server, m: Material, target: int, first_seed: int) -> Tally:
    tally = Tally()
    tally.memory.append((0, *server.memory()))
    internal_before = server.internal_errors()
    client = httpx.Client(base_url=server.url, timeout=120)

    def one(case: Case) -> None:
        nonlocal internal_before
        if tally.sent >= target or tally.crashed_at is not None:
            return
        try:
            answer = send(client, server.port, case, m.token)
        except Exception as exc:  # the harness must go on; say what failed
            answer = Answer(f"client error: {exc.__class__.__name__}")
        tally.add(case, answer)
        if not server.alive():
            tally.crashed_at = tally.sent
            return
        # A 500 whose client is gone shows only in the server's count: check after each such
        # input (hung up, no answer), and every 100 inputs for anything else.
        unanswered = not answer.status.isdigit()
        if unanswered or tally.sent % 100 == 0:
            if unanswered:
                time.sleep(0.05)  # let the server notice the hang-up
            internal_now = server.internal_errors()
            if internal_now > internal_before:
                label = (
                    case.label if unanswered else f"one of inputs {tally.sent - 99}-{tally.sent}"
                )
                tally.internal.append((case.kind, label, internal_now - internal_before))
                internal_before = internal_now
        if tally.sent % 2000 == 0:
            tally.memory.append((tally.sent, *server.memory()))
            print(f"  {tally.sent} inputs, RSS {tally.memory[-1][1] // 1024} MiB", flush=True)

    batch = 0
    while tally.sent < target and tally.crashed_at is None:

        @settings(
            max_examples=target - tally.sent,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @seed(first_seed + batch)
        @given(case=cases(m))
        def run(case: Case) -> None:
            one(case)

        run()
        batch += 1
    client.close()
    if server.alive() and tally.memory[-1][0] != tally.sent:
        tally.memory.append((tally.sent, *server.memory()))
    return tally


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = {"SHIELDWALL_MAX_IMAGE_BYTES": str(args.max_bytes)}
    if args.classifier:
        env["SHIELDWALL_CLASSIFIER"] = args.classifier
    return env


def post_sample(url: str, token: str, sample: Sample, answers: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": sample.content_type}
    r = httpx.post(f"{url}/v1/scan", content=sample.data, headers=headers, timeout=300)
    answers.append(str(r.status_code))


def bomb_memory(args: argparse.Namespace) -> str:
    """Peak RSS a fresh server reaches on one small file that decodes to ~80-100 MP (under the
    default pixel limit), and on two such files at once."""
    pool = image_pool()
    bombs = [b for b in bomb_pool(pool) if UNDER_LIMIT in b.label]
    runs = [[b] for b in bombs] + [[bombs[2], bombs[2]]]  # the WebP one, twice at once
    rows = []
    for batch in runs:
        with tempfile.TemporaryDirectory(prefix="shieldwall-bomb-") as tmp:
            server = Server.in_folder(Path(tmp), server_env(args))
            token = server.cli("apikey", "create", "--scope", "scan")
            server.start()
            _, before = server.memory()
            answers: list[str] = []
            started = time.perf_counter()
            threads = [
                threading.Thread(target=post_sample, args=(server.url, token, b, answers))
                for b in batch
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - started
            _, after = server.memory()
            server.stop()
        rows.append(
            [
                " + ".join(b.label.replace(f" {UNDER_LIMIT}", "") for b in batch),
                " + ".join(f"{len(b.data):,}" for b in batch),
                ", ".join(answers),
                f"{seconds:.2f}",
                f"{before / 1024:.0f}",
                f"{after / 1024:.0f}",
                f"+{(after - before) / 1024:.0f}",
            ]
        )
    header = ["file(s)", "bytes", "status", "s", "peak before MiB", "peak after MiB", "growth"]
    return "\n".join(
        [
            "### Memory per small file decoding to ~100 MP (bench/service_fuzz.py --bomb-memory)",
            "",
            "A fresh `shieldwall serve` per row; peak RSS (VmHWM) before and after the request(s).",
            "",
            table(rows, header),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--max-bytes", type=int, default=2 * MiB)
    parser.add_argument("--classifier", default=None, help="SHIELDWALL_CLASSIFIER for the server")
    parser.add_argument(
        "--bomb-memory",
        action="store_true",
        help="only measure the server's peak memory on small files decoding to ~100 MP",
    )
    args = parser.parse_args()
    if args.bomb_memory:
        print(bomb_memory(args))
        return
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="shieldwall-fuzz-") as tmp:
        folder = Path(tmp)
        server = Server.in_folder(folder, server_env(args))
        token = server.cli("apikey", "create", "--scope", "scan", "--name", "fuzz")
        server.cli("bank", "create", "known-fuzz", "--kind", "known")
        pool = image_pool()
        banked = bank_images(folder, 3, 100, (480, 360))
        server.cli("bank", "add", "known-fuzz", *map(str, banked))
        pool += [Sample(f"banked-{i}", p.read_bytes(), "image/png") for i, p in enumerate(banked)]
        sample = resources.files("shieldwall") / "samples" / "berlin-cathedral.jpg"
        source = folder / "source.jpg"
        source.write_bytes(sample.read_bytes())
        server.cli("bank", "create", "source-fuzz", "--kind", "source")
        server.cli("bank", "add", "source-fuzz", str(source))
        material = Material(pool, bomb_pool(pool), token, args.max_bytes)
        ready = server.start()
        args.pid = server.pid
        print(f"server pid {server.pid} on {server.url}; fuzzing {args.inputs} inputs", flush=True)
        started = time.perf_counter()
        try:
            tally = fuzz(server, material, args.inputs, args.seed)
        finally:
            exit_status = server.stop()
        seconds = time.perf_counter() - started
        server.keep_log("service_fuzz_server.log")
        log = server.log_text()
        print(report(tally, args, ready, exit_status, log, seconds, (load_start, load_average())))
        raised = unhandled_exceptions(log)
        if raised:
            print("\nUnhandled exceptions in the server log (exception, count):\n")
            for line, n in raised.most_common():
                print(f"- `{line}` x{n}")


if __name__ == "__main__":
    main()
