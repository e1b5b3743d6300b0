"""Health, readiness and metrics: no key needed (put /metrics behind your proxy if bank names
are private)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shieldwall.adapters.api.state import service

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Storage reachable, indexes loaded, classifier state")
def readyz(request: Request) -> JSONResponse:
    state = service(request)
    runtime, classifier = state.runtime, state.classifier
    storage = "ok"
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any failure means not ready; say which
        storage = f"unreachable: {exc.__class__.__name__}"
    banks = runtime.matcher.bank_names()
    body = {
        "ready": storage == "ok",
        "storage": storage,
        "index": {
            "banks": len(banks),
            "pdq": sum(runtime.matcher.size(b) for b in banks),
            "region": sum(runtime.matcher.region_size(b) for b in banks),
            "unreadable_region_signatures": runtime.matcher.unreadable(),
        },
        "classifier": {
            "name": classifier.name,
            "state": classifier.state,
            "detail": classifier.detail,
        },
        "policy_version": runtime.moderator.policy.label,
        "scans_in_flight": state.admission.active,
    }
    return JSONResponse(body, 200 if body["ready"] else 503)


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    registry = service(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
