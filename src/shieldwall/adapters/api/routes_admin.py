"""Keys, the audit log, decisions and the review queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shieldwall.adapters.api.auth import actor, require
from shieldwall.adapters.api.errors import ApiError
from shieldwall.adapters.api.schemas import ERROR_RESPONSES, KeyCreate, ReviewDecision
from shieldwall.adapters.api.state import service
from shieldwall.adapters.records import event_record, key_record, review_record
from shieldwall.domain import ApiKey, NewAuditEvent, Scope, parse_scopes, verify_chain

router = APIRouter(prefix="/v1", tags=["admin"], responses=ERROR_RESPONSES)
Admin = Depends(require(Scope.ADMIN))
Curate = Depends(require(Scope.CURATE))


@router.post("/keys", status_code=201, summary="Create an API key (shown once)")
def create_key(body: KeyCreate, request: Request, key: ApiKey = Admin) -> dict[str, Any]:
    created, token = service(request).runtime.keys.create(
        body.name, parse_scopes(",".join(body.scopes)), actor(key)
    )
    return {**key_record(created), "key": token}


@router.get("/keys", summary="List API keys (never their secrets)")
def list_keys(request: Request, key: ApiKey = Admin) -> list[dict[str, Any]]:
    return [key_record(k) for k in service(request).runtime.keys.list()]


@router.delete("/keys/{ident}", summary="Revoke a key by id or prefix")
def revoke_key(ident: str, request: Request, key: ApiKey = Admin) -> dict[str, Any]:
    return key_record(service(request).runtime.keys.revoke(ident, actor(key)))


@router.get("/audit", summary="Audit events, oldest first, after a sequence number")
def audit_events(
    request: Request,
    after: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
    key: ApiKey = Admin,
) -> list[dict[str, Any]]:
    events = service(request).runtime.audit.iter_events(after)
    out = []
    for event in events:
        out.append(event_record(event))
        if len(out) >= limit:
            break
    return out


@router.get("/audit/verify", summary="Walk the whole hash chain")
def audit_verify(request: Request, key: ApiKey = Admin) -> dict[str, Any]:
    report = verify_chain(service(request).runtime.audit.iter_events())
    broken = report.broken
    return {
        "ok": report.ok,
        "checked": report.checked,
        "last_hash": report.last_hash,
        "first_broken": None if broken is None else {"seq": broken.seq, "problem": broken.problem},
    }


@router.get("/scans/{scan_id}", summary="What was decided about one item, and what was done")
def scan_events(scan_id: str, request: Request, key: ApiKey = Curate) -> list[dict[str, Any]]:
    events = service(request).runtime.audit.for_subject(scan_id[:64])
    if not events:
        raise ApiError(404, "scan_not_found", f"no decision has scan id {scan_id[:64]!r}")
    return [event_record(e) for e in events]


@router.get("/reviews", summary="The review queue")
def reviews(
    request: Request,
    status: str | None = Query("pending", max_length=16),
    limit: int = Query(100, ge=1, le=1000),
    key: ApiKey = Curate,
) -> list[dict[str, Any]]:
    items = service(request).runtime.reviews.list(status if status != "all" else None, limit)
    return [review_record(r) for r in items]


@router.post("/reviews/{review_id}", summary="Decide a review item: allowed or blocked")
def decide_review(
    review_id: int, body: ReviewDecision, request: Request, key: ApiKey = Curate
) -> dict[str, Any]:
    rt = service(request).runtime
    item = rt.reviews.decide(review_id, body.outcome, actor(key))
    rt.audit.append(
        [
            NewAuditEvent(
                actor(key),
                "review.decided",
                item.scan_id,
                {"review_id": item.id, "outcome": item.status},
            )
        ]
    )
    return review_record(item)
