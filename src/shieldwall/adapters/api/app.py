"""The FastAPI app: ``create_app()`` wires settings, runtime, metrics and routes.

Scans run on worker threads (``scan_workers``), with a bounded wait queue in front (see
``state.Admission``). The webhook sender runs on its own thread while the app is up; the
classifier's model is loaded in the background at start-up (and otherwise on first use).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import httpx
from fastapi import FastAPI

from shieldwall import __version__
from shieldwall.actions import WebhookSender
from shieldwall.adapters.api import (
    errors,
    routes_admin,
    routes_banks,
    routes_health,
    routes_scan,
)
from shieldwall.adapters.api.metrics import Metrics
from shieldwall.adapters.api.state import Admission, ClassifierState, ServiceState
from shieldwall.adapters.setup import classifier_from, runtime_from
from shieldwall.classifiers import Classifier
from shieldwall.settings import Settings

log = logging.getLogger(__name__)
# python-multipart warns once per malformed body: any client could fill the log with them.
logging.getLogger("python_multipart").setLevel(logging.ERROR)
_FROM_SETTINGS: Any = object()
#: Default wait queue per scan worker: at 2 workers, 8 steady clients were measured to need a
#: queue of 6 (bench/RESULTS.md); each waiting scan holds its body in memory.
QUEUE_PER_WORKER = 4


def create_app(
    settings: Settings | None = None,
    *,
    classifier: Classifier | None = _FROM_SETTINGS,
    webhook_transport: httpx.BaseTransport | None = None,
) -> FastAPI:
    """The app on the database ``settings`` name. ``classifier`` overrides the one they name
    (tests pass a stand-in; ``None`` means hash-only)."""
    settings = settings or Settings()
    if classifier is _FROM_SETTINGS:
        chosen, why_none = classifier_from(settings)
    else:
        chosen, why_none = classifier, "no classifier configured"
    cstate = (
        ClassifierState(chosen.name, "loading")
        if chosen is not None
        else ClassifierState(None, "hash-only", why_none)
    )
    runtime = runtime_from(settings, classifier=chosen)
    metrics = Metrics()
    metrics.watch_indexes(runtime.store, runtime.matcher)
    workers = settings.scan_workers or os.cpu_count() or 1
    queue = settings.scan_queue or QUEUE_PER_WORKER * workers
    sender = (
        WebhookSender(
            runtime.outbox, runtime.audit, settings.webhook_secret, transport=webhook_transport
        )
        if settings.webhook_url
        else None
    )
    state = ServiceState(runtime, metrics, Admission(workers, queue, metrics), sender, cstate)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Threads for key checks and curation besides the scan workers.
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(40, 4 * workers)
        # Start-up made ~150k long-lived objects (imports, indexes); a full collection walking
        # them all would stall every request (~75 ms measured). Freeze them out of its way.
        gc.collect()
        gc.freeze()
        if chosen is not None:
            threading.Thread(target=_warm, args=(chosen, cstate), daemon=True).start()
        if sender is not None:
            sender.start()
        try:
            yield
        finally:
            if sender is not None:
                sender.stop()
            runtime.close()

    app = FastAPI(
        title="Shieldwall",
        version=__version__,
        summary="Hash banks, derived-fake detection and verdicts against intimate-image abuse.",
        lifespan=lifespan,
    )
    app.state.shieldwall = state
    errors.install(app, lambda kind: metrics.errors.labels(kind).inc())
    app.include_router(routes_scan.router)
    app.include_router(routes_banks.router)
    app.include_router(routes_admin.router)

    app.include_router(routes_health.router)
    return app


def _warm(classifier: Classifier, state: ClassifierState) -> None:
    try:
        classifier.load()
    except Exception as exc:  # the service still matches hashes; /readyz says why
        log.error("classifier %s did not load: %s", classifier.name, exc)
        state.state, state.detail = "error", str(exc)[:300]
    else:
        state.state, state.detail = "ready", ""
