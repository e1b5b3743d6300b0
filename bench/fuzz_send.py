"""Sending one fuzz input to the server: through httpx (raw, multipart or chunked body), or as
bytes on a socket for malformed HTTP and clients that hang up; the answer, or what went wrong."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from fuzz_inputs import FILE_HEADER, Case, multipart, part


@dataclass
class Answer:
    status: str  # "200", "422", ... or "no answer (hung up)", "client error: X"
    body: bytes = b""
    content_type: str = ""
    seconds: float = 0.0


def multipart_body(data: bytes) -> tuple[bytes, str]:
    boundary = "fuzzboundary7MA4YWxkTrZu0gW"
    body = multipart(boundary.encode(), [part([FILE_HEADER, b"Content-Type: image/jpeg"], data)])
    return body, f"multipart/form-data; boundary={boundary}"


def chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def send_raw(port: int, request: bytes, hang_up: bool) -> Answer:
    started = time.perf_counter()
    try:
        connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    except OSError as exc:
        return Answer(f"client error: {exc.__class__.__name__}")
    with connection as s:
        with contextlib.suppress(OSError):
            s.sendall(request)
        if hang_up:
            return Answer("no answer (client hung up)", seconds=time.perf_counter() - started)
        received = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
        except OSError as exc:
            if not received:
                return Answer(f"client error: {exc.__class__.__name__}")
    seconds = time.perf_counter() - started
    while re.match(rb"HTTP/1\.[01] 1\d\d ", received):  # an interim answer (100 Continue)
        received = received.partition(b"\r\n\r\n")[2]
    head, _, body = received.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if match is None:
        return Answer("no answer (closed)", seconds=seconds)
    ctype = re.search(rb"(?im)^content-type:\s*(.+?)\r?$", head)
    return Answer(
        match.group(1).decode(),
        body,
        ctype.group(1).decode() if ctype else "",
        seconds,
    )


def raw_request(case: Case, headers: dict[str, bytes]) -> bytes:
    """The request ``send`` makes, as bytes (raw envelope, Content-Length, Connection: close)."""
    lines = [b"POST /v1/scan HTTP/1.1", b"Host: fuzz", b"Connection: close"]
    lines += [k.encode() + b": " + v for k, v in headers.items()]
    lines.append(b"Content-Length: %d" % len(case.body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + case.body


def send(client: httpx.Client, port: int, case: Case, token: str) -> Answer:
    if case.raw_request is not None:
        return send_raw(port, case.raw_request, case.hang_up)
    headers = dict(case.extra_headers)
    no_auth = headers.pop("x-no-auth", None) is not None
    if not no_auth:
        headers["Authorization"] = case.auth if case.auth is not None else f"Bearer {token}"
    content: bytes | Iterator[bytes] = case.body
    content_type = case.content_type
    if case.envelope == "multipart":
        content, content_type = multipart_body(case.body)
    elif case.envelope == "chunked":
        content = chunks(case.body)
    if content_type is not None:
        headers["Content-Type"] = content_type
    started = time.perf_counter()
    raw_headers = {k: v.encode("latin-1") for k, v in headers.items()}  # as sent on the wire
    try:
        response = client.post("/v1/scan", content=content, headers=raw_headers, params=case.params)
    except httpx.LocalProtocolError:
        # httpx will not send some hostile headers (say, a value ending in a tab): send them raw.
        return send_raw(port, raw_request(case, raw_headers), hang_up=False)
    except httpx.HTTPError as exc:
        return Answer(
            f"client error: {exc.__class__.__name__}", seconds=time.perf_counter() - started
        )
    return Answer(
        str(response.status_code),
        response.content,
        response.headers.get("content-type", ""),
        time.perf_counter() - started,
    )
