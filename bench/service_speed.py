"""Service speed: the scan pipeline in process, stage by stage, then the same scans over HTTP.

Images: the corpus photos resized to a 1280 px long side (Lanczos) and re-encoded as JPEG quality
85 in memory (also written under bench/.cache for the load client and wrk). Bank: one ``known``
bank of 1,000,000 PDQ hashes: uniform random 256-bit codes plus the PDQ of every fourth corpus
photo (computed from the original file), so about a quarter of the scans match (and skip the
classifier, which a known match makes moot) and the rest run it. The bank is inserted in bulk once
(``BankStore.add_entries``, 50k entries a transaction) into a SQLite file cached under
bench/.cache; each run scans against a fresh copy of it, so audit rows do not pile up.

1. In process, one thread: ``open_runtime`` (index load timed), the real Open-NSFW classifier
   (``default_classifier()``), ``Moderator.scan`` on every image; median and p95 per stage
   (``ScanDecision.timings``: decode, signals, match, classify, decide incl. the audit write) and
   of the whole call.
2. Over HTTP: ``shieldwall serve`` as its own process (SCAN_WORKERS=2, default queue) on loopback,
   driven by bench/load_client.py in a second process (asyncio streams, keep-alive, pre-built raw
   ``image/jpeg`` requests). Concurrency 1, every image once: request latency against the
   in-process ``Moderator.scan`` time of the same images in this run (target: overhead <= 20% at
   the median). Then steady closed-loop load at concurrency 2, 4, 8: scans/s, p50/p95/p99, answers
   other than 200. The client runs on the same cores as the server; its CPU time is reported.
   When ``wrk`` is installed, one level is repeated with it (C client, Lua script) as a check.

Run from the repository root (about 5 minutes; --quick about 1; the first run also builds the
bank, about a minute)::

    .venv/bin/python bench/service_speed.py [--quick]

The photo corpus is read from ``$SHIELDWALL_BENCH_PHOTOS`` (default ``../shared/data/photos``).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from PIL import Image

from corpus import CACHE as CACHE_DIR
from corpus import corpus
from machine import CpuWindow, cpu_model, load_average, memory_gib, proc_memory, wait_quiet
from reporting import log, produced_by
from service_process import Server
from shieldwall.adapters.api.app import QUEUE_PER_WORKER
from shieldwall.classifiers import default_classifier
from shieldwall.domain import BankKind, EntrySignal, NewEntry, Scope, SignalType
from shieldwall.engine import open_runtime
from shieldwall.signals import compute_signals
from speed_http import WRK_CONNECTIONS, drive, run_wrk, start_server
from speed_results import InProcess, Level, level_table, overhead_lines, stage_table, wrk_line

DEFAULT_OUT = Path(__file__).resolve().with_name("results_service.md")
BANK_NAME = "known"
BANK_SIZE = 1_000_000
BANK_EVERY = 4  # every fourth corpus photo's own PDQ goes into the bank
INSERT_BATCH = 50_000
LONG_SIDE = 1280
JPEG_QUALITY = 85
BANK_VERSION = 1  # bump when the bank recipe changes, to rebuild the cached database
SCAN_WORKERS = 2
WARMUP_SCANS = 10
LEVELS = (2, 4, 8)


def photos() -> list[Path]:
    files = corpus()
    if not files:
        raise SystemExit("no .jpg photos in the corpus; set SHIELDWALL_BENCH_PHOTOS")
    return files


# --- Images and bank ------------------------------------------------------------------------------


def resized_jpeg(path: Path) -> bytes:
    """The photo at a 1280 px long side, JPEG quality 85, encoded in memory."""
    with Image.open(path) as raw:
        rgb = raw.convert("RGB")
    scale = LONG_SIDE / max(rgb.size)
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    out = io.BytesIO()
    rgb.resize(size, Image.Resampling.LANCZOS).save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def write_bodies(bodies: Sequence[bytes]) -> Path:
    """The bodies as files for the load client and wrk (rewritten each run: they are small)."""
    folder = CACHE_DIR / f"service_bodies_{len(bodies)}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for number, data in enumerate(bodies):
        (folder / f"{number:04d}.jpg").write_bytes(data)
    return folder


def bank_db(photos: Sequence[Path], seed: int) -> Path:
    """The cached SQLite file with the ``known`` bank (built once)."""
    path = CACHE_DIR / f"service_bank_v{BANK_VERSION}_{BANK_SIZE}_p{len(photos)}_s{seed}.db"
    if path.exists():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for leftover in CACHE_DIR.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    banked = photos[::BANK_EVERY]
    log(f"building the bank: PDQ of {len(banked)} photos + random codes to {BANK_SIZE:,}")
    real = []
    for photo in banked:
        pdq = compute_signals(photo.read_bytes()).pdq
        real.append((pdq.hex, pdq.quality))
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(BANK_SIZE - len(real), 32), dtype=np.uint8)
    values = real + [(row.tobytes().hex(), None) for row in codes]
    order = rng.permutation(len(values))  # the real hashes anywhere in the bank
    runtime = open_runtime(f"sqlite:///{partial}", load_index=False)
    try:
        runtime.curator.create_bank(BANK_NAME, BankKind.KNOWN, actor="bench")
        for start in range(0, len(values), INSERT_BATCH):
            batch = [values[i] for i in order[start : start + INSERT_BATCH]]
            runtime.store.add_entries(
                BANK_NAME,
                [
                    NewEntry((EntrySignal(SignalType.PDQ, hexa, "original", quality),), "bench")
                    for hexa, quality in batch
                ],
            )
    finally:
        runtime.close()
    partial.replace(path)
    log(f"bank built in {time.perf_counter() - started:.0f} s: {path.name}")
    return path


def fresh_copy(source: Path) -> Path:
    target = CACHE_DIR / "service_run.db"
    for old in CACHE_DIR.glob("service_run.db*"):
        old.unlink()
    shutil.copyfile(source, target)
    return target


# --- In process -----------------------------------------------------------------------------------


def in_process(db: Path, bodies: Sequence[bytes], passes: int) -> InProcess:
    classifier = default_classifier()
    if classifier is None:
        raise SystemExit("the opennsfw classifier is not installed: pip install 'shieldwall[nsfw]'")
    started = time.perf_counter()
    runtime = open_runtime(f"sqlite:///{db}", load_index=False, classifier=classifier)
    open_s = time.perf_counter() - started
    started = time.perf_counter()
    runtime.matcher.load()
    index_s = time.perf_counter() - started
    indexed = runtime.matcher.size(BANK_NAME)
    log(f"index of {indexed:,} PDQ codes loaded in {index_s:.1f} s")
    started = time.perf_counter()
    classifier.load()
    model_s = time.perf_counter() - started
    _, token = runtime.keys.create("bench", {Scope.SCAN}, "bench")
    result = InProcess(open_s, index_s, model_s, indexed, token)
    try:
        moderator = runtime.moderator
        for i in range(WARMUP_SCANS):
            moderator.scan(bodies[i % len(bodies)], source="bench:warmup")
        with CpuWindow(os.getpid()) as cpu:
            for round_ in range(passes):
                for number, data in enumerate(bodies):
                    begin = time.perf_counter()
                    decision = moderator.scan(data, source="bench")
                    wall = time.perf_counter() - begin
                    result.scans.append(
                        {
                            "i": number,
                            "pass": round_,
                            "wall": wall,
                            "timings": dict(decision.timings),
                            "matched": bool(decision.matches),
                            "verdict": decision.verdict.value,
                        }
                    )
        result.wall_s, result.own_cpu_s, result.machine_cpu_s = cpu.wall_s, cpu.pid_s, cpu.machine_s
    finally:
        runtime.close()
    return result


# --- Report ---------------------------------------------------------------------------------------


@dataclass
class Report:
    args: argparse.Namespace
    start_load: str
    end_load: str
    body_kb: float
    inproc: InProcess
    server: Server
    server_rss_mb: float
    sequence: Level
    levels: list[Level]
    wrk: dict[str, Any] | None
    server_errors: list[str]
    matched: int
    images: int


def markdown(r: Report) -> str:
    args = r.args
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("shieldwall", "uvicorn", "fastapi", "onnxruntime", "pillow", "numpy")
    )
    passes, nproc = args.passes, len(os.sched_getaffinity(0))
    lines = [
        "## Service speed: scan pipeline in process and over HTTP",
        "",
        *produced_by(),
        "",
        f"Machine: {cpu_model()}, `nproc` = {nproc}, "
        f"{memory_gib():.0f} GiB RAM; Python {platform.python_version()}, {versions}. Load "
        f"average (1/5/15 min) at start {r.start_load}, at end {r.end_load}; other jobs may share "
        "the cores.",
        "",
        f"Images: {r.images} corpus photos resized to a {LONG_SIDE} px long side, JPEG quality "
        f"{JPEG_QUALITY} (mean {r.body_kb:.0f} KB). Bank `known`: {r.inproc.indexed:,} PDQ codes "
        f"(random 256-bit codes plus the PDQ of every {BANK_EVERY}th corpus photo); {r.matched} of "
        f"the {r.images} images match it. Policy: the bundled default (a known match blocks "
        "without the classifier; otherwise Open-NSFW runs). SQLite, WAL.",
        "",
        "### 1. In process, one thread",
        "",
        f"Start-up: `open_runtime` (migrations, no index) {r.inproc.open_s:.2f} s; index load "
        f"(`Matcher.load`, {r.inproc.indexed:,} codes) **{r.inproc.index_s:.1f} s**; Open-NSFW "
        f"model load {r.inproc.model_s:.2f} s. `shieldwall serve` was ready (index loaded, "
        f"/readyz 200, model ready) {r.server.ready_s:.1f} s after launch; server RSS after the "
        f"run {r.server_rss_mb:.0f} MB.",
        "",
        f"`Moderator.scan` per image ({WARMUP_SCANS} warm-up scans, then {passes} pass(es) over "
        "the images, one thread), stage times from `ScanDecision.timings`; decide = policy, "
        "actions and the audit append:",
        "",
        stage_table(r.inproc.scans),
        "",
        f"Meanwhile this process used {r.inproc.own_cpu_s / r.inproc.wall_s:.2f} cores and "
        f"other processes {r.inproc.others():.2f} cores (of {nproc}); run {r.inproc.attempts} "
        "time(s).",
        "",
        "### 2. HTTP overhead at concurrency 1",
        "",
        f"`shieldwall serve` in its own process (SCAN_WORKERS={SCAN_WORKERS}, default queue = "
        f"{QUEUE_PER_WORKER} x workers), uvicorn with uvloop/httptools; bench/load_client.py in a "
        "second process: one keep-alive connection, raw `image/jpeg` bodies, every image once "
        "after 10 warm-up requests. Latency = request written to answer read, on the client.",
        "",
        *overhead_lines(r.inproc, r.sequence, passes),
        "",
        "### 3. Throughput under steady load",
        "",
        f"Closed loop: N keep-alive connections each sending its next image as soon as the answer "
        f"arrives, {args.warmup:g} s warm-up then {args.duration:g} s measured per level; a 503 "
        "(load shed) makes that connection wait its Retry-After (1 s). Latencies over 200 "
        "answers. Server stage sum = the scan's own time as the service reports it (queueing "
        "excluded). CPU columns: cores busy over the client's run, warm-up included (CPU seconds / "
        "wall seconds; 2.00 = both cores): the server process, the load client (which shares the "
        "cores), and every other process on the machine (/proc/stat minus those two). Each "
        f"level starts once other processes use under {args.max_others:g} cores (waiting up to "
        f"{args.quiet_wait:g} s) and is run again (at most {args.retries} more times) when they "
        "used more meanwhile; runs = how many times, the last one shown.",
        "",
        level_table(r.levels),
        "",
    ]
    if r.wrk is not None:
        lines += [wrk_line(r.wrk), ""]
    lines += [
        "Server log: "
        + (
            f"{len(r.server_errors)} error/traceback lines, first: `{r.server_errors[0][:160]}`"
            if r.server_errors
            else "no errors or tracebacks."
        ),
        "",
    ]
    return "\n".join(lines)


def server_log_errors(path: Path) -> list[str]:
    return [
        line
        for line in path.read_text(errors="replace").splitlines()
        if "Traceback" in line or "ERROR" in line or "Exception" in line
    ]


# --- Run ------------------------------------------------------------------------------------------


class Disturbable(Protocol):
    attempts: int

    def others(self) -> float: ...


M = TypeVar("M", bound=Disturbable)


def quiet(args: argparse.Namespace, mine: Sequence[int], why: str) -> None:
    wait_quiet(mine, args.max_others, args.quiet_wait, why, log)


def measured(args: argparse.Namespace, mine: Sequence[int], go: Callable[[], M]) -> M:
    """Run a level after waiting for quiet; run it again (up to ``--retries`` times, while the
    time budget lasts) when other processes took more than ``--max-others`` cores meanwhile."""
    attempt = 0
    while True:
        quiet(args, mine, "before the level")
        level = go()
        level.attempts = attempt + 1
        late = time.perf_counter() - args.started > args.budget
        if level.others() <= args.max_others or attempt >= args.retries or late:
            return level
        attempt += 1
        log(f"  other processes used {level.others():.2f} cores meanwhile: running it again")


@dataclass
class HttpPhase:
    server: Server
    sequence: Level
    levels: list[Level]
    wrk: dict[str, Any] | None
    rss_mb: float
    server_errors: list[str]


def http_phase(args: argparse.Namespace, db: Path, token: str, folder: Path) -> HttpPhase:
    """Concurrency 1, then the load levels and the wrk check, against one server (default
    queue); then, with ``--queue-check``, the top level against a server whose queue just holds
    every connection."""
    server = start_server(db, SCAN_WORKERS, None, CACHE_DIR)
    try:
        mine = [os.getpid(), server.pid]
        log("HTTP, concurrency 1, every image once")
        sequence = measured(args, mine, lambda: drive(server, token, folder, ["--sequence"]))
        levels = []
        timing = ["--duration", str(args.duration), "--warmup", str(args.warmup)]
        for concurrency in LEVELS:
            log(f"HTTP, {concurrency} connections, {args.duration:g} s")
            extra = ["-c", str(concurrency), *timing]
            level = measured(args, mine, functools.partial(drive, server, token, folder, extra))
            levels.append(level)
            log(f"  {len(level.ok()) / level.window_s:.1f} scans/s, non-200 {level.non_200()}")
        wrk = None
        if not args.no_wrk:
            quiet(args, mine, "before wrk")
            log(f"wrk check, {WRK_CONNECTIONS} connections")
            wrk = run_wrk(server, token, folder, max(5, int(args.duration // 2)))
        rss = proc_memory(server.pid)[0] / 1024
    finally:
        server.stop()
    errors = server_log_errors(server.log)
    if args.queue_check:
        # The same top level with a queue deep enough for every connection (no shedding).
        queue = max(LEVELS) - SCAN_WORKERS
        deeper = start_server(db, SCAN_WORKERS, queue, CACHE_DIR)
        try:
            log(f"HTTP, {max(LEVELS)} connections, SCAN_QUEUE={queue}")
            extra = ["-c", str(max(LEVELS)), *timing]
            level = measured(
                args,
                [os.getpid(), deeper.pid],
                lambda: drive(deeper, token, folder, extra),
            )
            level.queue_label = str(queue)
            levels.append(level)
        finally:
            deeper.stop()
        errors += server_log_errors(deeper.log)
    return HttpPhase(server, sequence, levels, wrk, rss, errors)


def run(args: argparse.Namespace) -> None:
    start_load = load_average(" / ")
    log(f"nproc {len(os.sched_getaffinity(0))}, load average {start_load}")
    every = photos()
    chosen = every[: args.images] if args.images else every
    log(f"encoding {len(chosen)} photos at {LONG_SIDE} px, JPEG {JPEG_QUALITY}")
    bodies = [resized_jpeg(p) for p in chosen]
    folder = write_bodies(bodies)
    db = fresh_copy(bank_db(every, args.seed))

    log(f"in process: {args.passes} pass(es) over {len(bodies)} images")
    inproc = measured(args, [os.getpid()], lambda: in_process(db, bodies, args.passes))
    matched = len({s["i"] for s in inproc.scans if s["matched"]})
    http = http_phase(args, db, inproc.token, folder)
    sequence, levels = http.sequence, http.levels
    report = Report(
        args,
        start_load,
        load_average(" / "),
        sum(len(b) for b in bodies) / len(bodies) / 1024,
        inproc,
        http.server,
        http.rss_mb,
        sequence,
        levels,
        http.wrk,
        http.server_errors,
        matched,
        len(bodies),
    )
    text = markdown(report)
    print(text)
    out = args.out or (CACHE_DIR / "results_service_quick.md" if args.quick else DEFAULT_OUT)
    out.write_text(text)
    (CACHE_DIR / "service_speed_raw.json").write_text(
        json.dumps(
            {
                "inproc": inproc.scans,
                "sequence": sequence.records,
                "levels": [
                    {"c": lv.concurrency, "queue": lv.queue_label, "records": lv.records}
                    for lv in levels
                ],
            }
        )
    )
    log(f"wrote {out}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about a minute: fewer images")
    parser.add_argument("--images", type=int, default=None, help="first N photos (default all)")
    parser.add_argument("--passes", type=int, default=None, help="in-process passes (default 2)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per load level")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds per level")
    parser.add_argument("--no-wrk", action="store_true", help="skip the wrk check")
    parser.add_argument(
        "--queue-check",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"also run {max(LEVELS)} connections with a queue deep enough for all (default: "
        "on, off with --quick)",
    )
    parser.add_argument(
        "--max-others",
        type=float,
        default=0.25,
        help="cores other processes may use during a level before it is run again",
    )
    parser.add_argument("--retries", type=int, default=2, help="reruns of a disturbed level")
    parser.add_argument(
        "--quiet-wait", type=float, default=None, help="seconds to wait for an idle machine"
    )
    parser.add_argument(
        "--budget", type=float, default=None, help="no reruns after this many seconds"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="markdown written here")
    args = parser.parse_args(argv)
    quick = args.quick
    args.images = args.images if args.images is not None else (48 if quick else 0)
    args.passes = args.passes or (1 if quick else 2)
    args.duration = args.duration or (8.0 if quick else 30.0)
    args.warmup = args.warmup if args.warmup is not None else (2.0 if quick else 3.0)
    args.quiet_wait = args.quiet_wait if args.quiet_wait is not None else (5 if quick else 45)
    args.budget = args.budget if args.budget is not None else (50 if quick else 420)
    args.started = time.perf_counter()
    if args.queue_check is None:
        args.queue_check = not quick
    return args


def main() -> None:
    run(parse_args())


if __name__ == "__main__":
    main()
