"""What bench/service_speed.py measures (scans in process; load levels over HTTP; the wrk check)
and the markdown tables made of it."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reporting import table
from shieldwall.engine import STAGES


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


@dataclass
class InProcess:
    open_s: float
    index_s: float
    model_s: float
    indexed: int
    token: str
    scans: list[dict[str, Any]] = field(default_factory=list)
    #: Over the timed passes: wall seconds, this process's CPU, every process's CPU.
    wall_s: float = 0.0
    own_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0
    attempts: int = 1

    def others(self) -> float:
        return max(0.0, (self.machine_cpu_s - self.own_cpu_s) / self.wall_s)


@dataclass
class Level:
    """One run of the load client: its records and the CPU used meanwhile."""

    concurrency: int
    window_s: float
    records: list[dict[str, Any]]
    client_cpu_s: float
    server_cpu_s: float
    wall_s: float
    errors: list[str]
    load: str
    machine_cpu_s: float
    queue_label: str = "default"
    attempts: int = 1

    def others(self) -> float:
        """Cores used by other processes meanwhile (machine minus server and client; clamped at
        0, since /proc counts in 10 ms ticks sampled at slightly different instants)."""
        used = self.machine_cpu_s - self.server_cpu_s - self.client_cpu_s
        return max(0.0, used / self.wall_s)

    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == 200]

    def non_200(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for r in self.records:
            if r["status"] != 200:
                counts[r["status"]] = counts.get(r["status"], 0) + 1
        return counts


def median_p95(label: str, values: Sequence[float]) -> list[str]:
    return [label, str(len(values)), ms(pct(values, 50)), ms(pct(values, 95))]


def stage_table(scans: Sequence[dict[str, Any]]) -> str:
    rows = []
    for stage in STAGES:
        values = [s["timings"][stage] for s in scans if stage in s["timings"]]
        note = " (not run on known matches)" if stage == "classify" else ""
        rows.append(median_p95(f"{stage}{note}", values))
    for label, chosen in (
        ("whole `Moderator.scan`, all", scans),
        ("... no match (classifier runs)", [s for s in scans if not s["matched"]]),
        ("... known match (no classifier)", [s for s in scans if s["matched"]]),
    ):
        rows.append(median_p95(label, [s["wall"] for s in chosen]))
    return table(rows, ["stage", "scans", "median ms", "p95 ms"])


def server_scan_s(record: dict[str, Any]) -> float:
    return float(sum(record["timings"].values())) / 1000


def overhead_lines(inproc: InProcess, seq: Level, passes: int) -> Iterator[str]:
    last = [s["wall"] for s in inproc.scans if s["pass"] == passes - 1]
    inproc_med = pct(last, 50)
    ok = seq.ok()
    latency = [r["latency"] for r in ok]
    http_med = pct(latency, 50)
    gap = [r["latency"] - server_scan_s(r) for r in ok]
    overhead = (http_med - inproc_med) / inproc_med
    verdict = "pass" if overhead <= 0.20 else "FAIL"
    rows = [
        median_p95("in-process `Moderator.scan` (last pass)", last),
        median_p95("HTTP request latency (client side)", latency),
        median_p95("... server's own stage sum (`timings_ms`)", [server_scan_s(r) for r in ok]),
        median_p95("... latency minus stage sum, per request", gap),
    ]
    yield table(rows, ["measure (same images, concurrency 1)", "scans", "median ms", "p95 ms"])
    yield ""
    yield (
        f"HTTP overhead at the median: {ms(http_med)} vs {ms(inproc_med)} ms in process = "
        f"**{overhead:+.1%}** (target <= +20%: {verdict}); per request, latency minus the "
        f"server's own stage times: median {ms(pct(gap, 50))} ms "
        f"({pct(gap, 50) / inproc_med:.1%} of the in-process median). Non-200 answers: "
        f"{sum(seq.non_200().values())}. CPU over the client's run ({seq.wall_s:.1f} s, start-up "
        f"included): server {seq.server_cpu_s / seq.wall_s:.2f} cores, client "
        f"{seq.client_cpu_s / seq.wall_s:.2f}, other processes {seq.others():.2f}; run "
        f"{seq.attempts} time(s)."
    )


def level_row(level: Level) -> list[str]:
    ok = level.ok()
    lat = [r["latency"] for r in ok]
    bad = level.non_200()
    bad_text = ", ".join(f"{n} x {code}" for code, n in sorted(bad.items())) or "0"
    if level.errors:
        bad_text += f"; {len(level.errors)} transport errors"
    scan = [server_scan_s(r) for r in ok]
    return [
        str(level.concurrency),
        level.queue_label,
        str(len(ok)),
        f"{len(ok) / level.window_s:.1f}",
        *(ms(pct(lat, q)) for q in (50, 95, 99)),
        ms(pct(scan, 50)),
        bad_text,
        f"{level.server_cpu_s / level.wall_s:.2f}",
        f"{level.client_cpu_s / level.wall_s:.2f}",
        f"{level.others():.2f}",
        level.load.split(" / ")[0],
        str(level.attempts),
    ]


def level_table(levels: Sequence[Level]) -> str:
    header = [
        "connections",
        "queue",
        "200s",
        "scans/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "server stage sum p50 ms",
        "non-200",
        "CPU server",
        "CPU client",
        "CPU others",
        "load 1-min",
        "runs",
    ]
    return table([level_row(level) for level in levels], header)


def wrk_line(result: dict[str, Any]) -> str:
    rate = result["requests"] / (result["duration_us"] / 1e6)
    return (
        f"wrk check ({result['connections']} connections, 1 thread, {result['seconds']} s, no "
        f"warm-up, load {result['load'].split(' / ')[0]}): {result['requests']} answers = "
        f"{rate:.1f}/s, p50 {result['p50'] / 1000:.1f} ms, p90 {result['p90'] / 1000:.1f} ms, "
        f"p99 {result['p99'] / 1000:.1f} ms, non-2xx {result['non2xx']}, socket errors "
        f"{result['socket_errors']}; CPU: server {result['server_cpu_s'] / result['wall_s']:.2f} "
        f"cores, server + wrk + others {result['machine_cpu_s'] / result['wall_s']:.2f} cores."
    )
