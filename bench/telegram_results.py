"""What bench/telegram_bot.py measures (the in-process baseline, the latency run, the burst) and
the markdown made of it."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version

from machine import cpu_model, memory_gib
from reporting import percentile, produced_by, table
from telegram_load import Call, UpdateRow

LATENCY_CHATS, BURST_CHATS, SENDERS = 4, 20, 50
WAIT_S = 30.0  # longest wait for one deletion


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def spread(values: Sequence[float]) -> list[str]:
    """median, p95, p99, max in ms."""
    if not values:
        return ["-"] * 4
    return [ms(percentile(values, q)) for q in (0.5, 0.95, 0.99)] + [ms(max(values))]


@dataclass
class Baseline:
    walls: dict[int, list[float]]  # image number -> whole-scan seconds, every pass
    verdicts: dict[int, str]
    classified: dict[int, bool]  # whether the classifier ran
    others: float = 0.0  # cores other processes used meanwhile
    attempts: int = 1

    def all(self, numbers: Sequence[int]) -> list[float]:
        return [w for n in numbers for w in self.walls[n]]


@dataclass
class Latency:
    image: list[int] = field(default_factory=list)  # index into the bad images
    total: list[float] = field(default_factory=list)
    before_get_file: list[float] = field(default_factory=list)
    missing: int = 0
    refused: int = 0  # deleteMessage answered other than 200
    bot_cpu_s: float = 0.0
    wall_s: float = 0.0
    others: float = 0.0
    ready_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    attempts: int = 1


@dataclass
class Burst:
    """What the burst run saw; ``evaluate`` derives the timings and the checks from it."""

    messages: int
    first: int  # update ids first..last
    last: int
    kinds: dict[tuple[int, int], tuple[int, bool]]  # (chat, message) -> (update id, bad)
    handed: dict[int, float | None] = field(default_factory=dict)  # update id -> handed out
    rows: dict[int, UpdateRow] = field(default_factory=dict)
    deletes: list[Call] = field(default_factory=list)
    finished: bool = False  # every update handled before the timeout
    confirmed: int = 0  # the offset the bot confirmed to the fake
    audit: tuple[str, bool, str] = ("audit chain verifies", False, "not read")
    cpu_wall_s: float = 0.0  # the CPU window: first push to completion seen
    bot_cpu_s: float = 0.0
    bench_cpu_s: float = 0.0
    others: float = 0.0
    rss_mb: float = 0.0
    notices: int = 0
    errors: list[str] = field(default_factory=list)
    window_s: float = 0.0
    in_bot: list[float] = field(default_factory=list)  # handed out -> done, per update
    to_delete: list[float] = field(default_factory=list)  # handed out -> deleteMessage, bad ones
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    attempts: int = 1

    def evaluate(self) -> None:
        rows, handed = self.rows, self.handed
        done = {r.update_id: r.done for r in rows.values() if r.status == "done" and r.done}
        starts = [t for t in handed.values() if t is not None]
        if done and starts:
            self.window_s = max(done.values()) - min(starts)
        self.in_bot = [at - t for uid, at in done.items() if (t := handed.get(uid)) is not None]
        answered: Counter[tuple[int, int]] = Counter()
        for call in self.deletes:
            key = (int(call.params["chat_id"]), int(call.params["message_id"]))
            if call.status == 200:
                answered[key] += 1
                if key in self.kinds and (t := handed.get(self.kinds[key][0])) is not None:
                    self.to_delete.append(call.at - t)
        bad = {k for k, (_, is_bad) in self.kinds.items() if is_bad}
        benign_gone = set(answered) - bad
        statuses = Counter(r.status for r in rows.values())
        refused = sum(c.status != 200 for c in self.deletes)
        attempts = max((r.attempts for r in rows.values()), default=0)
        n = self.messages
        self.checks = [
            ("handled before the timeout", self.finished, f"{len(rows)} stored, {len(done)} done"),
            ("every update stored", len(rows) == n, f"{len(rows)} of {n} rows"),
            ("every update done", statuses["done"] == n, dict_text(statuses)),
            (
                "every bad message deleted once",
                all(answered[k] == 1 for k in bad),
                f"{sum(answered[k] == 1 for k in bad)} of {len(bad)}; "
                f"{sum(answered[k] > 1 for k in bad)} more than once",
            ),
            ("no benign message deleted", not benign_gone, f"{len(benign_gone)} deleted"),
            ("no refused deleteMessage", not refused, f"{refused} refused"),
            (
                "offset confirmed past the burst",
                self.confirmed > self.last,
                f"{self.confirmed} > {self.last}",
            ),
            ("one attempt each", attempts == 1, f"max {attempts}"),
            self.audit,
        ]


def dict_text(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


@dataclass
class Report:
    args: argparse.Namespace
    start_load: str
    end_load: str
    base: Baseline
    bad_ok: list[int]  # image numbers used as bad
    benign_ok: list[int]
    bad_total: int
    benign_total: int
    mean_kb: float
    latency: Latency
    burst: Burst


def latency_lines(r: Report) -> list[str]:
    lat, base = r.latency, r.base
    used = [r.bad_ok[i] for i in lat.image]  # the image behind each measured message
    inproc = [statistics.median(base.walls[n]) for n in used]
    after = [t - b for t, b in zip(lat.total, lat.before_get_file, strict=True)]
    overhead = [t - s for t, s in zip(lat.total, inproc, strict=True)]
    skipped = sum(not base.classified[n] for n in r.bad_ok)
    rows = [
        ["handed out -> deleteMessage (the bot)", *spread(lat.total)],
        ["  of which: handed out -> getFile", *spread(lat.before_get_file)],
        ["  of which: getFile -> deleteMessage", *spread(after)],
        ["`Moderator.scan` in process, same images", *spread(base.all(r.bad_ok))],
        ["bot minus in-process scan, per message", *spread(overhead)],
    ]
    return [
        f"{len(lat.total)} bad photo messages one at a time (the next pushed once the previous "
        f"one's deleteMessage arrived), cycling through the {len(r.bad_ok)} bad images across "
        f"{LATENCY_CHATS} chats. In-process baseline: `Moderator.scan` of the same images, "
        f"{r.args.passes} pass(es), one thread, the same classifier (other processes used "
        f"{base.others:.2f} cores meanwhile; runs: {base.attempts}); a known match skips the "
        f"classifier ({skipped} of {len(r.bad_ok)} bad images ran without it in process).",
        "",
        table(rows, ["", "median ms", "p95 ms", "p99 ms", "max ms"]),
        "",
        f"Bot overhead at the median: **{ms(percentile(lat.total, 0.5) - percentile(inproc, 0.5))}"
        f" ms** over the in-process scan ({ms(percentile(lat.total, 0.5))} against "
        f"{ms(percentile(inproc, 0.5))} ms): storing the update, dispatch, the message claim, "
        "getFile and the download from loopback, the decision write, the deleteMessage call. "
        f"Deletions missing after {WAIT_S:g} s: {lat.missing}; refused: {lat.refused}. Over the "
        f"run the bot used {lat.bot_cpu_s / lat.wall_s:.2f} cores, other processes (the fake "
        f"server excluded) {lat.others:.2f} (runs: {lat.attempts}); the bot polled "
        f"{lat.ready_s:.1f} s after launch.",
    ]


def burst_lines(r: Report) -> list[str]:
    b, base = r.burst, r.base
    mix = [statistics.mean(base.all(r.bad_ok)), statistics.mean(base.all(r.benign_ok))]
    mean_scan = statistics.mean(mix)  # the burst alternates bad and benign
    rate = b.messages / b.window_s if b.window_s else float("nan")
    rows = [
        [
            f"{b.messages:,}",
            f"{b.window_s:.2f}",
            f"**{rate:.1f}**",
            f"{b.bot_cpu_s:.1f}",
            f"{b.bot_cpu_s / b.cpu_wall_s:.2f}" if b.cpu_wall_s else "-",
            f"{b.bot_cpu_s / b.messages * 1000:.1f}",
            f"{b.bench_cpu_s:.1f}",
            f"{b.others:.2f}",
            f"{b.rss_mb:.0f}",
        ]
    ]
    header = [
        "messages",
        "first hand-out -> last done, s",
        "messages/s",
        "bot CPU s",
        "bot cores (CPU s / wall s)",
        "bot CPU ms/message",
        "bench process CPU s (fake + poller)",
        "other processes, cores",
        "bot peak RSS MB",
    ]
    checks = [[name, "yes" if ok else "**NO**", detail] for name, ok, detail in b.checks]
    return [
        f"{b.messages:,} photo messages, bad and benign alternating, across {BURST_CHATS} chats "
        f"and {SENDERS} senders, pushed at once right after the warm-up; the bot takes up to 100 "
        "updates per getUpdates and handles up to its in-flight limit at once "
        f"(runs: {b.attempts}).",
        "",
        table(rows, header),
        "",
        f"In process one thread scans the same mix at {1 / mean_scan:.1f}/s (mean "
        f"{ms(mix[0])} ms bad, {ms(mix[1])} ms benign), so two perfectly parallel workers would "
        f"reach {2 / mean_scan:.1f}/s: the bot reaches {rate / (2 / mean_scan):.0%} of that.",
        "",
        table(
            [
                ["handed out -> done, every update", *spread(b.in_bot)],
                ["handed out -> deleteMessage, bad ones", *spread(b.to_delete)],
            ],
            ["per update (queueing included)", "median ms", "p95 ms", "p99 ms", "max ms"],
        ),
        "",
        table(checks, ["check", "ok", "detail"]),
        "",
        f"Removal notices posted during the burst: {b.notices} (at most one per chat per "
        f"{r.args.notice_seconds} s).",
    ]


def log_line(errors: Sequence[str]) -> str:
    if not errors:
        return "no warnings, errors or tracebacks"
    return f"{len(errors)} warning/error lines, first: `{errors[0][:200]}`"


def markdown(r: Report) -> str:
    args, nproc = r.args, len(os.sched_getaffinity(0))
    names = ("shieldwall", "aiogram", "aiohttp", "onnxruntime", "pillow", "sqlalchemy")
    versions = ", ".join(f"{name} {version(name)}" for name in names)
    left_out = (r.bad_total - len(r.bad_ok), r.benign_total - len(r.benign_ok))
    return "\n".join(
        [
            "## Telegram bot: update to deletion, and a burst on 2 cores",
            "",
            *produced_by(["SHIELDWALL_BENCH_PHOTOS"]),
            "",
            f"Machine: {cpu_model()}, `nproc` = {nproc}, {memory_gib():.0f} GiB RAM; Python "
            f"{platform.python_version()}, {versions}. Load average (1/5/15 min) at start "
            f"{r.start_load}, at end {r.end_load}; other jobs may share the cores.",
            "",
            "Bot: `shieldwall telegram` in its own process, long polling, SCAN_WORKERS=2 "
            "(in-flight limit max(16, 8 x workers) = 16), enforce mode, classifier "
            f"`{args.classifier}`, notices at most every {args.notice_seconds} s per chat, "
            "SQLite (WAL). Bot API: "
            "tests/fake_bot_api.py on loopback in the benchmark's process. Images: "
            f"{len(r.bad_ok)} bad (originals banked in `ncii`; the messages carry Telegram "
            f"re-encodes) and {len(r.benign_ok)} benign corpus photos, 1280 px JPEG q80, mean "
            f"{r.mean_kb:.0f} KB; left out because the engine itself would not block / allow "
            f"them: {left_out[0]} / {left_out[1]}.",
            "",
            "### Latency: update handed out -> deleteMessage",
            "",
            *latency_lines(r),
            "",
            "### Throughput: a burst across 20 chats",
            "",
            *burst_lines(r),
            "",
            f"Bot log: latency run {log_line(r.latency.errors)}; burst run "
            f"{log_line(r.burst.errors)}.",
            "",
        ]
    )
