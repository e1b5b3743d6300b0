"""Overload: what ``shieldwall serve`` does when offered more scans than it can do.

The server runs in its own process (SHIELDWALL_SCAN_WORKERS=2, default queue of 4 x workers) on
a temporary SQLite database with a small known bank (synthetic images and a few corpus photos,
so that some scans block and run their actions). Queries are benign corpus photos from
../shared/data/photos (or SHIELDWALL_BENCH_PHOTOS) re-encoded as Telegram does (long side
1280 px, JPEG q80).

1. Capacity: a closed loop of 4 clients (within workers + queue, so nothing is shed) for 15 s;
   capacity = scans answered per second.
2. Overload: open loop (requests sent on a schedule, never waiting for answers) at 3x capacity
   for 30 s; then 0.5x for 20 s.

Per phase: offered and answered rates, status histogram (200 and 503 expected; no 500), p50/p99
latency of the 200s; the time to recover (first 10 s window after the overload with no 503);
and the audit check: 200 answers to /v1/scan == ``scan.decided`` events in the database, read
after the server has stopped, then ``shieldwall audit verify``.

    .venv/bin/python bench/service_overload.py [--capacity-seconds 15] [--overload-seconds 30]
        [--recovery-seconds 20] [--photos 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image

from corpus import corpus, photos_folder
from fuzz_images import bank_images
from machine import load_average
from reporting import percentile, table
from service_process import SHIELDWALL, Server
from shieldwall.adapters.api.app import QUEUE_PER_WORKER
from shieldwall.engine import open_runtime
from shieldwall.media.copies import telegram_reencode

SCAN_WORKERS = 2
CLOSED_LOOP_CLIENTS = 4
RECOVERY_WINDOW = 10.0


def telegram_copy(path: Path) -> bytes:
    with Image.open(path) as image:
        return telegram_reencode(image)


@dataclass
class Result:
    phase: str
    sent_at: float  # seconds since the run's clock started
    status: str
    seconds: float


class Load:
    def __init__(self, url: str, token: str, photos: list[bytes]) -> None:
        self.url, self.photos = url, photos
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
        self.results: list[Result] = []
        self.clock = time.perf_counter()
        self.next_photo = 0
        self.client = httpx.AsyncClient(
            base_url=url,
            timeout=httpx.Timeout(300.0),
            limits=httpx.Limits(max_connections=5000, max_keepalive_connections=5000),
        )

    def now(self) -> float:
        return time.perf_counter() - self.clock

    async def one(self, phase: str) -> None:
        data = self.photos[self.next_photo % len(self.photos)]
        self.next_photo += 1
        sent = self.now()
        try:
            response = await self.client.post("/v1/scan", content=data, headers=self.headers)
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            status = f"client error: {exc.__class__.__name__}"
        self.results.append(Result(phase, sent, status, self.now() - sent))

    async def closed_loop(self, phase: str, clients: int, seconds: float) -> None:
        end = self.now() + seconds

        async def worker() -> None:
            while self.now() < end:
                await self.one(phase)

        await asyncio.gather(*(worker() for _ in range(clients)))

    async def open_loop(self, phase: str, rate: float, seconds: float) -> list[asyncio.Task[None]]:
        """Send at ``rate`` per second for ``seconds`` on a fixed schedule; return the requests
        still in flight."""
        start, tasks, i = self.now(), [], 0
        while True:
            due = start + i / rate
            if due >= start + seconds:
                break
            delay = due - self.now()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.one(phase)))
            i += 1
        return tasks


@dataclass
class Phase:
    name: str
    start: float
    seconds: float
    rate: float | None  # scheduled rate (None: closed loop)


async def drive(server: Server, token: str, photos: list[bytes], args: argparse.Namespace) -> dict:
    load = Load(server.url, token, photos)
    phases: list[Phase] = []
    # Warm-up (classifier, caches), not reported.
    await load.closed_loop("warm-up", CLOSED_LOOP_CLIENTS, 3.0)
    start = load.now()
    await load.closed_loop("capacity", CLOSED_LOOP_CLIENTS, args.capacity_seconds)
    phases.append(Phase("capacity", start, load.now() - start, None))
    done = [r for r in load.results if r.phase == "capacity" and r.status == "200"]
    capacity = len(done) / phases[-1].seconds
    print(f"capacity {capacity:.1f} scans/s; overload at {3 * capacity:.1f}/s", flush=True)
    in_flight = []
    for name, factor, seconds in (
        ("overload 3x", 3.0, args.overload_seconds),
        ("after 0.5x", 0.5, args.recovery_seconds),
    ):
        start = load.now()
        in_flight += await load.open_loop(name, factor * capacity, seconds)
        phases.append(Phase(name, start, seconds, factor * capacity))
        print(f"{name}: sent {sum(1 for r in in_flight)} so far", flush=True)
    await asyncio.gather(*in_flight)
    await load.client.aclose()
    return {"results": load.results, "phases": phases, "capacity": capacity}


def recovery_time(results: list[Result], overload_end: float, recovery_end: float) -> str:
    """Seconds from the end of the overload to the start of the first 10 s window (by send
    time, 0.5 s steps) in which no request got a 503."""
    after = [r for r in results if r.phase == "after 0.5x"]
    t = 0.0
    while overload_end + t + RECOVERY_WINDOW <= recovery_end + 1e-9:
        window = [r for r in after if overload_end + t <= r.sent_at < overload_end + t + 10]
        if not any(r.status == "503" for r in window):
            return f"{t:.1f} s"
        t += 0.5
    return f"not within the {recovery_end - overload_end:.0f} s measured"


def report(run: dict, audit: dict, args: argparse.Namespace, ready: dict, load: tuple) -> str:
    results: list[Result] = run["results"]
    phases: list[Phase] = run["phases"]
    statuses = sorted({r.status for r in results if r.phase != "warm-up"})
    rows = []
    for phase in phases:
        mine = [r for r in results if r.phase == phase.name]
        counts = Counter(r.status for r in mine)
        ok = [r.seconds for r in mine if r.status == "200"]
        shed = [r.seconds for r in mine if r.status == "503"]
        sent_rate = len(mine) / phase.seconds
        offered = f"{phase.rate:.1f} ({sent_rate:.1f} sent)" if phase.rate else "closed loop, 4"
        answered_in_phase = [
            r
            for r in mine
            if r.status.isdigit() and r.sent_at + r.seconds < phase.start + phase.seconds
        ]
        rows.append(
            [
                phase.name,
                f"{phase.seconds:.0f}",
                offered,
                f"{len(answered_in_phase) / phase.seconds:.1f}",
                f"{sum(1 for r in answered_in_phase if r.status == '200') / phase.seconds:.1f}",
                *(str(counts[s] or "") for s in statuses),
                f"{1000 * percentile(ok, 0.5):.0f}",
                f"{1000 * percentile(ok, 0.99):.0f}",
                f"{1000 * percentile(shed, 0.99):.0f}" if shed else "",
            ]
        )
    after = phases[2]
    overload_end = after.start
    last_503 = max(
        (r.sent_at for r in results if r.phase == "after 0.5x" and r.status == "503"), default=None
    )
    five_hundreds = sum(
        1 for r in results if r.status.isdigit() and int(r.status) >= 500 and r.status != "503"
    )
    ok_total = sum(1 for r in results if r.status == "200")
    lost = sum(1 for r in results if not r.status.isdigit())
    out = [
        "### Overload (bench/service_overload.py)",
        "",
        f"- Server: `shieldwall serve`, SHIELDWALL_SCAN_WORKERS={SCAN_WORKERS}, queue default "
        f"({QUEUE_PER_WORKER * SCAN_WORKERS}); classifier "
        f"{ready['classifier']['name']} ({ready['classifier']['state']}); known bank of "
        f"{ready['index']['pdq']} PDQ codes; {len(args.photo_names)} corpus photos from "
        f"{args.folder} re-encoded to 1280 px JPEG q80 "
        f"({statistics.mean(args.photo_sizes) / 1024:.0f} KiB mean).",
        f"- Load average (1/5/15 min) at start: {load[0]}; at end: {load[1]}.",
        f"- Capacity (closed loop, {CLOSED_LOOP_CLIENTS} clients): **{run['capacity']:.1f} "
        "scans/s**.",
        "",
        table(
            rows,
            [
                "phase",
                "s",
                "offered /s",
                "answered /s",
                "200 /s",
                *statuses,
                "p50 ms (200)",
                "p99 ms (200)",
                "p99 ms (503)",
            ],
        ),
        "",
        "Answered /s counts answers that arrived within the phase; the status columns count every "
        "request sent in the phase, whenever answered. The load generator (Python, asyncio + "
        "httpx) runs on the same cores as the server.",
        "",
        f"- Answers >= 500 other than 503: **{five_hundreds}**; requests without an answer: "
        f"{lost}.",
        f"- Time to recover (first {RECOVERY_WINDOW:.0f} s window after the overload with no 503): "
        f"**{recovery_time(results, overload_end, after.start + after.seconds)}**; last 503 in "
        "the 0.5x phase sent "
        + (f"{last_503 - overload_end:.1f} s after the overload" if last_503 else "never")
        + ".",
        f"- Audit: 200 answers to /v1/scan (warm-up included): **{ok_total}**; `scan.decided` "
        f"events in the database after the server stopped: **{audit['decided']}** -> "
        + ("**no lost audit events**" if ok_total == audit["decided"] else "**MISMATCH**")
        + f"; server exit after SIGTERM: {audit['exit']}.",
        f"- `shieldwall audit verify`: exit {audit['verify_rc']}: `{audit['verify']}`",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--capacity-seconds", type=float, default=15.0)
    parser.add_argument("--overload-seconds", type=float, default=30.0)
    parser.add_argument("--recovery-seconds", type=float, default=20.0)
    parser.add_argument("--photos", type=int, default=60)
    args = parser.parse_args()
    load_start = load_average()
    args.folder = photos_folder()
    paths = corpus(args.photos)
    photos = [telegram_copy(p) for p in paths]
    args.photo_names, args.photo_sizes = [p.name for p in paths], [len(p) for p in photos]
    with tempfile.TemporaryDirectory(prefix="shieldwall-overload-") as tmp:
        folder = Path(tmp)
        server = Server.in_folder(folder, {"SHIELDWALL_SCAN_WORKERS": str(SCAN_WORKERS)})
        token = server.cli("apikey", "create", "--scope", "scan", "--name", "overload")
        server.cli("bank", "create", "known-small", "--kind", "known")
        banked = bank_images(folder, 20, 500, (640, 480))
        for i, data in enumerate(photos[:3]):  # 3 of the queries match: block, record, notify
            path = folder / f"banked-photo-{i}.jpg"
            path.write_bytes(data)
            banked.append(path)
        server.cli("bank", "add", "known-small", *map(str, banked))
        ready = server.start()
        print(f"server pid {server.pid} on {server.url}", flush=True)
        try:
            run = asyncio.run(drive(server, token, photos, args))
        finally:
            exit_status = server.stop()
            server.keep_log("service_overload_server.log")
        runtime = open_runtime(server.db, load_index=False)
        try:
            decided = runtime.audit.count("scan.decided")
        finally:
            runtime.close()
        verify = subprocess.run(
            [str(SHIELDWALL), "audit", "verify", "--db", server.db],
            capture_output=True,
            text=True,
            check=False,
        )
        audit = {
            "decided": decided,
            "exit": exit_status,
            "verify_rc": verify.returncode,
            "verify": (verify.stdout + verify.stderr).strip(),
        }
        print(report(run, audit, args, ready, (load_start, load_average())))
        log = server.log_text()
        if "unhandled error" in log or "Traceback" in log:
            print("\nServer log excerpt (errors):\n\n```\n" + log[-3000:] + "\n```")


if __name__ == "__main__":
    main()
