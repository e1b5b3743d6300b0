"""Tallying the answers of a fuzz run (statuses by input kind, error codes, contract breaks,
internal errors, memory) and the markdown report of it."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from fuzz_inputs import Case
from fuzz_send import Answer
from reporting import table


def problem_with(answer: Answer) -> str | None:
    """What is wrong with an answer, or None."""
    if not answer.status.isdigit():
        return None
    status = int(answer.status)
    if status >= 500 and status != 503:
        return f"status {status}"
    if answer.content_type.startswith("text/plain") and status == 400:
        return None  # uvicorn refusing malformed HTTP before the app sees it
    try:
        body = json.loads(answer.body)
    except ValueError:
        return f"status {status} with a non-JSON body {answer.body[:80]!r}"
    if status == 200:
        return None if isinstance(body, dict) and "verdict" in body else "200 without a verdict"
    if not (isinstance(body, dict) and isinstance(body.get("error"), str) and "detail" in body):
        return f"status {status} body is not {{error, detail}}: {answer.body[:120]!r}"
    return None


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    codes: Counter[str] = field(default_factory=Counter)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    internal: list[tuple[str, str, float]] = field(default_factory=list)
    slowest: dict[str, tuple[float, str]] = field(default_factory=dict)
    seconds: Counter[str] = field(default_factory=Counter)
    unanswered: list[tuple[str, str, str]] = field(default_factory=list)
    previous: str = ""  # the input sent before, as "kind: label -> status"
    memory: list[tuple[int, int, int]] = field(default_factory=list)  # (inputs, rss, hwm) KiB
    crashed_at: int | None = None

    def add(self, case: Case, answer: Answer) -> None:
        """Count one input and its answer."""
        self.sent += 1
        self.statuses[answer.status] += 1
        self.by_kind[case.kind][answer.status] += 1
        if answer.status.isdigit() and answer.status != "200":
            with contextlib.suppress(ValueError, AttributeError):
                self.codes[f"{answer.status} {json.loads(answer.body)['error']}"] += 1
        problem = problem_with(answer)
        if problem:
            self.problems.append((case.kind, case.label, problem))
        elif not answer.status.isdigit() and not case.hang_up:
            after = f"{case.label}` (after `{self.previous}`)"
            self.unanswered.append((case.kind, after, answer.status))
        self.previous = f"{case.kind}: {case.label} -> {answer.status}"
        self.seconds[case.kind] += answer.seconds
        if answer.seconds > self.slowest.get(case.kind, (0.0, ""))[0]:
            self.slowest[case.kind] = (answer.seconds, case.label)


def status_order(status: str) -> tuple[int, str]:
    return (0, status) if status.isdigit() else (1, status)


def report(
    tally: Tally,
    args: argparse.Namespace,
    ready: dict[str, Any],
    exit_status: int | None,
    log: str,
    seconds: float,
    load: tuple[str, str],
) -> str:
    statuses = sorted({s for c in tally.by_kind.values() for s in c}, key=status_order)
    kinds = sorted(tally.by_kind, key=lambda k: -sum(tally.by_kind[k].values()))
    rows = []
    for k in kinds:
        n = sum(tally.by_kind[k].values())
        mean = f"{1000 * tally.seconds[k] / n:.0f}"
        rows.append([k, str(n), mean, *(str(tally.by_kind[k][s] or "") for s in statuses)])
    rows.append(
        ["**all**", f"**{tally.sent}**", "", *(f"**{tally.statuses[s]}**" for s in statuses)]
    )
    five_hundreds = [p for p in tally.problems if p[2].startswith("status 5")]
    unhandled = log.count("unhandled error on")
    out = [
        "### Fuzzing POST /v1/scan (bench/service_fuzz.py)",
        "",
        f"- Inputs: **{tally.sent}** (Hypothesis, seed {args.seed}), in {seconds:.0f} s; "
        f"server `shieldwall serve` pid {args.pid}, classifier {ready['classifier']['name']} "
        f"({ready['classifier']['state']}), SHIELDWALL_MAX_IMAGE_BYTES={args.max_bytes}, "
        f"banks: {ready['index']['banks']} ({ready['index']['pdq']} PDQ codes, "
        f"{ready['index']['region']} region signatures).",
        f"- Load average (1/5/15 min) at start: {load[0]}; at end: {load[1]} "
        f"({os.cpu_count()} cores, shared with other work).",
        f"- Crash: {f'**yes**, after input {tally.crashed_at}' if tally.crashed_at else 'none'}"
        f" (server alive at end; exit status after SIGTERM: {exit_status}).",
        f"- Answers >= 500 other than 503: **{len(five_hundreds)}**; internal errors counted by "
        f'the server (/metrics `shieldwall_errors_total{{kind="internal"}}`): '
        f"**{sum(n for *_, n in tally.internal):.0f}**; 'unhandled error' lines in its log: "
        f"{unhandled}.",
        "",
        "Status by input kind:",
        "",
        table(rows, ["kind", "inputs", "mean ms", *statuses]),
        "",
        "Error codes: "
        + ", ".join(f"{code} x{n}" for code, n in sorted(tally.codes.items(), key=lambda x: x[0])),
        "",
    ]
    if tally.problems:
        out += [
            "Answers breaking the contract (kind, input, problem), first 25 of "
            f"{len(tally.problems)}:",
            "",
        ]
        grouped: Counter[tuple[str, str]] = Counter((k, p) for k, _, p in tally.problems)
        out += [f"- {k}: {p} x{n}" for (k, p), n in grouped.most_common()]
        out += [f"  - e.g. {k}: `{label}` -> {p}" for k, label, p in tally.problems[:25]]
        out.append("")
    if tally.internal:
        out += [
            f"Server-side internal errors (kind, input), first 25 of {len(tally.internal)}:",
            "",
        ]
        grouped_internal: Counter[str] = Counter(
            f"{k}: {re.sub(r'[0-9]+', 'N', label)}" for k, label, _ in tally.internal
        )
        out += [f"- {what} x{n}" for what, n in grouped_internal.most_common(25)]
        out.append("")
    if tally.unanswered:
        out += ["Inputs left without an HTTP answer (other than deliberate hang-ups):", ""]
        out += [f"- {k}: `{label} -> {status}" for k, label, status in tally.unanswered[:25]]
        out.append("")
    mem_rows = [[str(n), f"{rss / 1024:.0f}", f"{hwm / 1024:.0f}"] for n, rss, hwm in tally.memory]
    out += [
        "Server memory (KiB from /proc/PID/status, shown in MiB):",
        "",
        table(mem_rows, ["after inputs", "RSS MiB", "peak RSS (VmHWM) MiB"]),
        "",
        "Slowest answer per kind: "
        + "; ".join(
            f"{k} {s:.2f} s (`{label[:50]}`)"
            for k, (s, label) in sorted(tally.slowest.items(), key=lambda x: -x[1][0])
        ),
    ]
    return "\n".join(out)


def unhandled_exceptions(log: str) -> Counter[str]:
    """The exception line of each traceback logged as 'unhandled error on ...' (numbers as N)."""
    found: Counter[str] = Counter()
    for block in log.split("unhandled error on")[1:]:
        lines = block.splitlines()
        inside = False
        for line in lines[1:]:
            if line.startswith("Traceback"):
                inside = True
            elif inside and line and not line.startswith((" ", "During handling", "The above")):
                found[re.sub(r"\d+", "N", line)[:200]] += 1
                break
    return found
