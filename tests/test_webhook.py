"""Signed webhooks: the signature a receiver checks, retries with backoff, the outbox, audit."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from shieldwall.actions import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Backoff,
    WebhookSender,
    sign,
    verify_signature,
)
from shieldwall.engine import Runtime

SECRET = "s3cret"
NO_WAIT = Backoff(base_seconds=0, jitter=0, max_attempts=4)


def test_signature_round_trip_and_replay_window() -> None:
    signature = sign(SECRET, "1000", '{"a":1}')
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, "1000", '{"a":1}', signature, now=1100)
    assert not verify_signature("other", "1000", '{"a":1}', signature, now=1100)
    assert not verify_signature(SECRET, "1000", '{"a":2}', signature, now=1100)
    assert not verify_signature(SECRET, "1000", '{"a":1}', signature, now=2000)  # too old
    assert not verify_signature(SECRET, "x", '{"a":1}', signature, now=1000)


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(base_seconds=2, factor=2, cap_seconds=60, jitter=0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 10)] == [2, 4, 8, 16, 60]
    jittered = Backoff(base_seconds=10, jitter=0.2)
    assert all(8 <= jittered.delay(1) <= 12 for _ in range(50))


class Receiver:
    """A webhook endpoint that answers from a script and checks every signature."""

    def __init__(self, answers: list[int | Exception]) -> None:
        self.answers = answers
        self.bodies: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        assert verify_signature(
            SECRET, request.headers[TIMESTAMP_HEADER], body, request.headers[SIGNATURE_HEADER]
        )
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        if answer < 300:
            self.bodies.append(json.loads(body))
        return httpx.Response(answer)


def sender(runtime: Runtime, receiver: Receiver) -> WebhookSender:
    return WebhookSender(
        runtime.outbox,
        runtime.audit,
        SECRET,
        backoff=NO_WAIT,
        transport=httpx.MockTransport(receiver),
    )


def queue(runtime: Runtime, scan_id: str = "scan-1") -> int:
    return runtime.outbox.enqueue(scan_id, "https://hooks.example/in", '{"verdict":"block"}').id


@pytest.mark.parametrize(
    "failures",
    [[], [500], [503, httpx.ConnectError("refused")], [429, 502, 500]],
)
def test_retried_until_delivered(runtime: Runtime, failures: list[int | Exception]) -> None:
    receiver = Receiver(list(failures))
    webhooks = sender(runtime, receiver)
    queue(runtime)
    for _ in range(len(failures) + 1):
        assert webhooks.send_due() == 1
    assert webhooks.send_due() == 0
    assert receiver.bodies == [{"verdict": "block"}]
    assert runtime.outbox.count("delivered") == 1
    [event] = runtime.audit.recent(1)
    assert event.event == "notify.delivered" and event.payload["attempts"] == len(failures) + 1
    webhooks.stop()


def test_gives_up_after_max_attempts(runtime: Runtime) -> None:
    receiver = Receiver([500] * 10)
    webhooks = sender(runtime, receiver)
    queue(runtime)
    while webhooks.send_due():
        pass
    assert runtime.outbox.count("failed") == 1
    [event] = runtime.audit.recent(1)
    assert event.event == "notify.failed" and event.payload["attempts"] == NO_WAIT.max_attempts
    assert event.payload["error"] == "HTTP 500"
    webhooks.stop()


def test_a_refusal_is_not_retried(runtime: Runtime) -> None:
    webhooks = sender(runtime, Receiver([400]))
    queue(runtime)
    assert webhooks.send_due() == 1
    assert webhooks.send_due() == 0
    assert runtime.outbox.count("failed") == 1
    webhooks.stop()


def test_not_due_until_its_backoff_has_passed(runtime: Runtime) -> None:
    webhooks = WebhookSender(
        runtime.outbox,
        runtime.audit,
        SECRET,
        backoff=Backoff(base_seconds=3600, jitter=0),
        transport=httpx.MockTransport(Receiver([500])),
    )
    queue(runtime)
    assert webhooks.send_due() == 1
    assert webhooks.send_due() == 0  # an hour away
    assert runtime.outbox.count("pending") == 1
    webhooks.stop()


def test_background_thread_delivers_when_woken(runtime: Runtime) -> None:
    receiver = Receiver([])
    webhooks = sender(runtime, receiver)
    webhooks.start()
    queue(runtime)
    webhooks.wake()
    for _ in range(200):
        if runtime.outbox.count("delivered"):
            break
        time.sleep(0.01)
    webhooks.stop()
    assert runtime.outbox.count("delivered") == 1
