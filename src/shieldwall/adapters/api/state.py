"""What the app holds for its lifetime: the runtime, metrics, admission control, the webhook
sender and the classifier's state."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    refused at once with 503 and Retry-After, before its body is read, so an overloaded service
    answers quickly and recovers as soon as the load drops. Used from the event loop only."""

    def __init__(self, workers: int, queue: int, metrics: Metrics) -> None:
        self.workers, self.limit = workers, workers + queue
        self.active = 0
        self._limiter = anyio.CapacityLimiter(workers)
        self._metrics = metrics

    @contextmanager
    def enter(self) -> Iterator[None]:
        if self.active >= self.limit:
            self._metrics.shed.inc()
            raise ApiError(
                503,
                "overloaded",
                f"{self.active} scans are running or waiting; retry shortly",
                {"Retry-After": "1"},
            )
        self.active += 1
        self._metrics.in_flight.set(self.active)
        try:
            yield
        finally:
            self.active -= 1
            self._metrics.in_flight.set(self.active)

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
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class ServiceState:
    runtime: Runtime
    metrics: Metrics
    admission: Admission
    sender: WebhookSender | None
    classifier: ClassifierState
    owns_runtime: bool = True


def service(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.shieldwall
    return state
