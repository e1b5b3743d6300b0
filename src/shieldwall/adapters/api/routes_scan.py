"""Scanning: /v1/scan (bytes -> decision), /v1/match (hashes -> decision), /v1/hash (signals)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shieldwall.actions import OutcomeStatus
from shieldwall.adapters.api.auth import require
from shieldwall.adapters.api.bodies import Upload, read_upload
from shieldwall.adapters.api.errors import ApiError
from shieldwall.adapters.api.schemas import ERROR_RESPONSES, UPLOAD_BODY, MatchRequest
from shieldwall.adapters.api.state import ServiceState, service
from shieldwall.adapters.records import decision_record
from shieldwall.domain import ApiKey, Scope, SignalType, normalise_hash
from shieldwall.engine import QueryHashes, ScanDecision
from shieldwall.signals import compute_signals

router = APIRouter(prefix="/v1", tags=["scan"], responses=ERROR_RESPONSES)
MAX_REFERENCE = 200
Reference = Query(
    None, max_length=MAX_REFERENCE, description="Your own id for the item (kept in the log)."
)


async def receive(state: ServiceState, request: Request) -> Upload:
    """The uploaded image, received before a scan slot is taken (see Admission)."""
    state.admission.check()
    with state.admission.receiving_body():
        return await read_upload(request, state.runtime.limits.max_bytes)


def _finish(state: ServiceState, decision: ScanDecision, via: str) -> dict[str, Any]:
    state.metrics.scans.labels(decision.verdict.value, via).inc()
    state.metrics.observe_stages(decision.timings)
    if state.sender is not None and any(
        o.action == "notify" and o.status is OutcomeStatus.QUEUED for o in decision.outcomes
    ):
        state.sender.wake()
    return decision_record(decision)


@router.post("/scan", openapi_extra=UPLOAD_BODY, summary="Scan an image and decide")
async def scan(
    request: Request,
    reference: str | None = Reference,
    key: ApiKey = Depends(require(Scope.SCAN)),
) -> dict[str, Any]:
    """Decode the image, hash it, match every enabled bank, classify it when the verdict could
    depend on that, apply the policy and its actions, audit the decision. The image is not kept.
    """
    state = service(request)
    started = time.perf_counter()
    upload = await receive(state, request)
    ref = reference or upload.fields.get("reference")
    if ref is not None and len(ref) > MAX_REFERENCE:
        raise ApiError(422, "bad_reference", f"a reference is at most {MAX_REFERENCE} characters")
    with state.admission.enter():
        decision = await state.admission.run(
            state.runtime.moderator.scan, upload.data, source=f"api:{key.name}", reference=ref
        )
    del upload
    state.metrics.request_seconds.observe(time.perf_counter() - started)
    return _finish(state, decision, "scan")


@router.post("/match", summary="Decide from hashes computed by the client")
async def match(
    body: MatchRequest, request: Request, key: ApiKey = Depends(require(Scope.SCAN))
) -> dict[str, Any]:
    """For clients that hash on their side (a victim's device, a partner's pipeline). No
    classifier runs: there are no pixels."""
    if not (body.pdq or body.md5 or body.sha256):
        raise ApiError(422, "bad_hash", "give at least one of pdq, md5, sha256")
    query = QueryHashes(
        pdq=[("original", normalise_hash(SignalType.PDQ, body.pdq))] if body.pdq else [],
        md5=normalise_hash(SignalType.MD5, body.md5) if body.md5 else None,
        sha256=normalise_hash(SignalType.SHA256, body.sha256) if body.sha256 else None,
    )
    state = service(request)
    with state.admission.enter():
        decision = await state.admission.run(
            state.runtime.moderator.decide_hashes,
            query,
            source=f"api:{key.name}",
            reference=body.reference,
        )
    return _finish(state, decision, "match")


@router.post("/hash", openapi_extra=UPLOAD_BODY, summary="Signals of an image, no decision")
async def hash_image(
    request: Request, key: ApiKey = Depends(require(Scope.SCAN))
) -> dict[str, Any]:
    state = service(request)
    upload = await receive(state, request)
    with state.admission.enter():
        signals = await state.admission.run(
            compute_signals, upload.data, state.runtime.limits, dihedral=True
        )
    del upload
    return {
        "pdq": signals.pdq.hex,
        "pdq_quality": signals.pdq.quality,
        "md5": signals.md5,
        "sha256": signals.sha256,
        "width": signals.width,
        "height": signals.height,
        "query_pdq": {name: h.hex for name, h in signals.query_pdq()},
    }
