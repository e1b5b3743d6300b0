"""What the app holds for its lifetime: the runtime, metrics, admission control, the webhook
sender and the classifier's state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

from shieldwall.actions import WebhookSender
from shieldwall.adapters.api.errors import ApiError
from shieldwall.adapters.api.metrics import Metrics
from shieldwall.engine import Runtime

T = TypeVar("T")


class Admission:
    """Bounded work: ``workers`` scans run at once, ``queue`` more may wait; anything beyond is
    refused at once with 503 and Retry-After, so an overloaded service answers quickly and
    recovers as soon as the load drops. Bodies are received before a scan slot is taken (a slow
    sender must not hold one), under their own cap of ``uploads`` at once and a time limit
    (bodies.BODY_TIMEOUT_SECONDS). Used from the event loop only."""

    def __init__(self, workers: int, queue: int, metrics: Metrics, uploads: int = 0) -> None:
        self.workers, self.limit = workers, workers + queue
        self.upload_limit = uploads or max(16, 4 * self.limit)
        self.active = 0
        self.receiving = 0
        self._limiter = anyio.CapacityLimiter(workers)
        self._metrics = metrics

    def check(self) -> None:
        """Refuse now, before the body is read, when no scan slot could be had."""
        if self.active >= self.limit:
            self._shed(f"{self.active} scans are running or waiting; retry shortly")

    @contextmanager
    def receiving_body(self) -> Iterator[None]:
        if self.receiving >= self.upload_limit:
            self._shed(f"{self.receiving} uploads are arriving; retry shortly")
        self.receiving += 1
        try:
            yield
        finally:
            self.receiving -= 1

    @contextmanager
    def enter(self) -> Iterator[None]:
        self.check()
        self.active += 1
        self._metrics.in_flight.set(self.active)
        try:
            yield
        finally:
            self.active -= 1
            self._metrics.in_flight.set(self.active)

    def _shed(self, detail: str) -> None:
        self._metrics.shed.inc()
        raise ApiError(503, "overloaded", detail, {"Retry-After": "1"})

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(
            lambda: fn(*args, **kwargs), limiter=self._limiter, abandon_on_cancel=False
        )


@dataclass
class ClassifierState:
    """``hash-only`` (none configured or not installed), ``loading``, ``ready`` or ``error``."""

    name: str | None
    state: str
    detail: str = ""


@dataclass
class ServiceState:
    runtime: Runtime
    metrics: Metrics
    admission: Admission
    sender: WebhookSender | None
    classifier: ClassifierState


def service(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.shieldwall
    return state
