"""Driving ``shieldwall serve`` for bench/service_speed.py: start it with a given worker count and
queue, run bench/load_client.py (or wrk) against it, and account for the CPU every process used
meanwhile."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from machine import CpuWindow, all_cpu, busiest_others, load_average
from reporting import log
from service_process import Server
from speed_results import Level

LOAD_CLIENT = Path(__file__).resolve().with_name("load_client.py")
WRK_CONNECTIONS = 4


def start_server(db: Path, workers: int, queue: int | None, log_folder: Path) -> Server:
    """The server on ``db`` with the Open-NSFW classifier, ready; queue None: the default."""
    label = queue if queue is not None else "default"
    env = {
        "SHIELDWALL_SCAN_WORKERS": str(workers),
        "SHIELDWALL_CLASSIFIER": "opennsfw",
        "SHIELDWALL_SCAN_QUEUE": None if queue is None else str(queue),
    }
    server = Server(db, log_folder / f"service_server_q{label}.log", env)
    ready = server.start()
    if ready["classifier"]["state"] != "ready":
        server.stop()
        raise SystemExit(f"the classifier is not ready: {ready['classifier']}")
    pdq = ready["index"]["pdq"]
    log(f"server ready on port {server.port} in {server.ready_s:.1f} s (index {pdq:,})")
    return server


def drive(server: Server, token: str, bodies: Path, extra: Sequence[str]) -> Level:
    """Run the load client in its own process; returns its records and both processes' CPU."""
    command = [
        sys.executable,
        str(LOAD_CLIENT),
        "--port",
        str(server.port),
        "--token",
        token,
        "--bodies",
        str(bodies),
        *extra,
    ]
    load, everyone = load_average(" / "), all_cpu()
    with CpuWindow(server.pid) as cpu:
        done = subprocess.run(command, capture_output=True, check=False)
    log(f"  busiest other processes: {busiest_others(everyone, all_cpu(), {server.pid})}")
    if done.returncode != 0:
        raise SystemExit(f"load client failed:\n{done.stderr.decode()[-3000:]}")
    out = json.loads(done.stdout)
    return Level(
        out["concurrency"],
        out["window_s"],
        out["records"],
        cpu.children_s,
        cpu.pid_s,
        cpu.wall_s,
        out["errors"],
        load,
        cpu.machine_s,
    )


WRK_SCRIPT = """
local bodies = {}
local n = 0
function init(args)
  for name in io.lines(args[1]) do
    local f = assert(io.open(name, "rb"))
    bodies[#bodies + 1] = f:read("*a")
    f:close()
  end
  n = math.random(#bodies)
end
function request()
  n = n % #bodies + 1
  return wrk.format("POST", "/v1/scan", nil, bodies[n])
end
function done(summary, latency, requests)
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50": %d, "p90": %d, "p99": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def run_wrk(server: Server, token: str, bodies: Path, seconds: int) -> dict[str, Any] | None:
    """``WRK_CONNECTIONS`` connections, one thread, for ``seconds``; None without wrk."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script, names = Path(tmp) / "scan.lua", Path(tmp) / "bodies.txt"
        script.write_text(WRK_SCRIPT)
        names.write_text("\n".join(str(p) for p in sorted(bodies.glob("*.jpg"))) + "\n")
        command = [
            wrk,
            "-t1",
            f"-c{WRK_CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            "Content-Type: image/jpeg",
            "-s",
            str(script),
            server.url + "/v1/scan",
            "--",
            str(names),
        ]
        load = load_average(" / ")
        with CpuWindow(server.pid) as cpu:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        log(f"wrk gave no summary:\n{done.stdout}\n{done.stderr}")
        return None
    result: dict[str, Any] = json.loads(line[4:])
    result.update(
        connections=WRK_CONNECTIONS,
        server_cpu_s=cpu.pid_s,
        load=load,
        seconds=seconds,
        machine_cpu_s=cpu.machine_s,
        wall_s=cpu.wall_s,
    )
    return result
