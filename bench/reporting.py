"""Pieces the benchmarks' reports share: markdown tables, the command that produced a report, and
progress lines with the time."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def percentile(values: Sequence[float], share: float) -> float:
    """The value at ``share`` (0 to 1) of the sorted values (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def command_line(env_names: Sequence[str] = ()) -> str:
    """This run's command, from the repository root, with the named environment variables set."""
    env = " ".join(f"{k}={os.environ[k]}" for k in env_names if k in os.environ)
    python = os.path.relpath(sys.executable, REPO_ROOT)
    script = os.path.relpath(Path(sys.argv[0]).resolve(), Path.cwd())
    return " ".join(part for part in (env, python, script, shlex.join(sys.argv[1:])) if part)


def produced_by(env_names: Sequence[str] = ()) -> list[str]:
    """The lines saying when and by which command a report was made."""
    return [
        f"Produced {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by (from the repository root):",
        "",
        "```sh",
        command_line(env_names),
        "```",
    ]


def log(message: str) -> None:
    """A progress line, with the time, on standard error."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
