"""The machine a benchmark runs on: its description (CPU model, memory, load average) and what
processes use of it, from /proc (CPU seconds by process and overall, resident memory), with a wait
for other processes to go quiet before a measurement."""

from __future__ import annotations

import os
import platform
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

TICK = os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def load_average(separator: str = " ") -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``0.78 1.26 1.37``."""
    return separator.join(f"{value:.2f}" for value in os.getloadavg())


def proc_memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> float:
    """CPU seconds all processes have used so far (every core; from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def all_cpu() -> dict[int, tuple[str, float]]:
    """(command name, CPU seconds) of every process now."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        found[int(stat.parent.name)] = (name, (int(fields[11]) + int(fields[12])) / TICK)
    return found


def busiest_others(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], mine: set[int]
) -> str:
    """The other processes that used the most CPU between two ``all_cpu`` snapshots."""
    used = [
        (cpu - before.get(pid, (name, 0.0))[1], name, pid)
        for pid, (name, cpu) in after.items()
        if pid not in mine
    ]
    top = sorted((u for u in used if u[0] >= 0.5), reverse=True)[:3]
    return ", ".join(f"{name}[{pid}] {cpu:.1f} s" for cpu, name, pid in top) or "none over 0.5 s"


class CpuWindow:
    """CPU used over a stretch of wall time (a ``with`` block): by process ``pid`` (if any), by
    this process's children that finished meanwhile, and by every process on the machine."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid
        self.wall_s = self.pid_s = self.children_s = self.machine_s = 0.0

    def _pid_cpu(self) -> float:
        return proc_cpu(self.pid) if self.pid is not None else 0.0

    def __enter__(self) -> CpuWindow:
        self._pid, self._machine = self._pid_cpu(), machine_busy()
        self._children, self._started = children_cpu(), time.perf_counter()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.wall_s = time.perf_counter() - self._started
        self.pid_s = self._pid_cpu() - self._pid
        self.machine_s = machine_busy() - self._machine
        self.children_s = children_cpu() - self._children


def wait_quiet(
    mine: Sequence[int],
    max_others: float,
    limit_s: float,
    why: str,
    log: Callable[[str], None],
) -> float:
    """Wait (up to ``limit_s``) until processes other than ``mine`` use under ``max_others`` cores
    over a 2 s window, so a measurement starts on an idle machine; returns the seconds waited."""
    started = time.perf_counter()
    while True:
        own = sum(proc_cpu(pid) for pid in mine)
        machine, begin = machine_busy(), time.perf_counter()
        time.sleep(2.0)
        span = time.perf_counter() - begin
        others = (machine_busy() - machine - (sum(proc_cpu(pid) for pid in mine) - own)) / span
        waited = time.perf_counter() - started
        if others < max_others or waited >= limit_s:
            if waited > 2.5:
                log(f"  waited {waited:.0f} s for other processes ({others:.2f} cores) {why}")
            return waited
        time.sleep(1.0)


def terminate(process: subprocess.Popen[bytes] | None, timeout: float) -> int | None:
    """SIGTERM (the service or bot shuts down cleanly), SIGKILL after ``timeout`` seconds; the
    exit status (None: never started)."""
    if process is None:
        return None
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
