"""A light closed-loop HTTP load client for ``POST /v1/scan``, run as its own process.

Each of ``--concurrency`` keep-alive connections sends a pre-built raw ``image/jpeg`` request,
reads the whole answer, and sends the next at once (closed loop). Plain asyncio streams, no HTTP
library: request bytes are built once, and an answer is parsed only as far as its status line,
Content-Length and (for 200s) the ``timings_ms`` the service reports, so the client costs little
CPU next to a scan. Its own CPU time is measured and reported, since it shares the machine.

Modes:

* ``--sequence``: one connection, every body once in order (after ``--warmup-requests``); one
  record per request: body index, status, latency, the server's stage timings.
* otherwise: ``--concurrency`` connections for ``--warmup`` + ``--duration`` seconds; requests
  that start after the warm-up and end before the deadline are counted.

Answers with ``Retry-After`` (503 when the service sheds load) are counted, and the connection
waits that long before its next request, as a polite client would (``--no-backoff`` to retry at
once). Prints one JSON object on stdout.

    .venv/bin/python bench/load_client.py --port 8080 --token swk_... --bodies DIR -c 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Record:
    index: int
    status: int
    started: float
    latency: float
    timings: dict[str, float] | None = None


@dataclass
class Run:
    records: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reconnects: int = 0


def request_head(host: str, port: int, token: str, length: int) -> bytes:
    return (
        f"POST /v1/scan HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: image/jpeg\r\nContent-Length: {length}\r\n\r\n"
    ).encode("latin-1")


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[bytes, bytes], bytes]:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"content-length" not in headers:
        raise RuntimeError(f"answer {status} without Content-Length: {head[:200]!r}")
    body = await reader.readexactly(int(headers[b"content-length"]))
    return status, headers, body


class Connection:
    def __init__(self, host: str, port: int, run: Run) -> None:
        self.host, self.port, self.run = host, port, run
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            answer = await exchange(self.reader, self.writer, request)
        except (ConnectionError, asyncio.IncompleteReadError):
            await self.close()
            raise
        if answer[1].get(b"connection", b"").lower() == b"close":
            await self.close()
            self.run.reconnects += 1
        return answer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def server_timings(status: int, body: bytes) -> dict[str, float] | None:
    if status != 200:
        return None
    timings: dict[str, float] = json.loads(body)["timings_ms"]
    return timings


async def one(
    conn: Connection, requests: list[bytes], index: int, run: Run
) -> tuple[Record | None, float]:
    """Send body ``index``; the record (None on a transport error) and the back-off asked for."""
    started = time.perf_counter()
    try:
        status, headers, body = await conn.send(requests[index])
    except Exception as exc:  # a transport failure is a result here, not a crash
        run.errors.append(f"{exc.__class__.__name__}: {exc}"[:200])
        return None, 0.0
    latency = time.perf_counter() - started
    backoff = float(headers.get(b"retry-after", b"0") or 0)
    return Record(index, status, started, latency, server_timings(status, body)), backoff


async def sequence(args: argparse.Namespace, requests: list[bytes]) -> Run:
    run, warm = Run(), Run()
    conn = Connection(args.host, args.port, run)
    for i in range(args.warmup_requests):
        await one(conn, requests, i % len(requests), warm)
    for index in range(len(requests)):
        record, _ = await one(conn, requests, index, run)
        if record is not None:
            run.records.append(record)
    await conn.close()
    return run


async def steady(args: argparse.Namespace, requests: list[bytes]) -> tuple[Run, float, float]:
    run = Run()
    begin = time.perf_counter()
    measure_from = begin + args.warmup
    deadline = measure_from + args.duration

    async def worker(number: int) -> None:
        conn = Connection(args.host, args.port, run)
        index = number * len(requests) // args.concurrency  # spread connections over the bodies
        while time.perf_counter() < deadline:
            record, backoff = await one(conn, requests, index, run)
            index = (index + 1) % len(requests)
            if (
                record is not None
                and record.started >= measure_from
                and record.started + record.latency <= deadline
            ):
                run.records.append(record)
            if backoff and not args.no_backoff:
                await asyncio.sleep(min(backoff, max(0.0, deadline - time.perf_counter())))
        await conn.close()

    await asyncio.gather(*(worker(n) for n in range(args.concurrency)))
    return run, measure_from, deadline


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True, help="API key with the scan scope")
    parser.add_argument("--bodies", type=Path, required=True, help="folder of .jpg bodies")
    parser.add_argument("-c", "--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--sequence", action="store_true", help="each body once, one connection")
    parser.add_argument("--warmup-requests", type=int, default=10, help="before --sequence")
    parser.add_argument("--no-backoff", action="store_true", help="ignore Retry-After")
    args = parser.parse_args(argv)
    files = sorted(args.bodies.glob("*.jpg"))
    if not files:
        raise SystemExit(f"no .jpg bodies in {args.bodies}")
    requests = []
    for path in files:
        data = path.read_bytes()
        requests.append(request_head(args.host, args.port, args.token, len(data)) + data)
    cpu_before, wall_before = cpu_seconds(), time.perf_counter()
    if args.sequence:
        run = asyncio.run(sequence(args, requests))
        window = time.perf_counter() - wall_before
    else:
        loop_run, measure_from, deadline = asyncio.run(steady(args, requests))
        run, window = loop_run, deadline - measure_from
    cpu = cpu_seconds() - cpu_before
    wall = time.perf_counter() - wall_before
    out: dict[str, Any] = {
        "concurrency": 1 if args.sequence else args.concurrency,
        "window_s": window,
        "wall_s": wall,
        "client_cpu_s": cpu,
        "errors": run.errors,
        "reconnects": run.reconnects,
        "records": [
            {
                "i": r.index,
                "status": r.status,
                "t": r.started,  # time.perf_counter(): CLOCK_MONOTONIC, shared by processes
                "latency": r.latency,
                "timings": r.timings,
            }
            for r in run.records
        ],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
