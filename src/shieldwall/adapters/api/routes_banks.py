"""Banks and entries: the CLI's operations over HTTP, through the same Curator."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from shieldwall.adapters.api.auth import actor, require
from shieldwall.adapters.api.bodies import read_limited
from shieldwall.adapters.api.errors import ApiError
from shieldwall.adapters.api.routes_scan import receive
from shieldwall.adapters.api.schemas import (
    ERROR_RESPONSES,
    TEXT_BODY,
    UPLOAD_BODY,
    BankCreate,
    BankUpdate,
    HashEntry,
    TextEntry,
)
from shieldwall.adapters.api.state import service
from shieldwall.adapters.records import bank_record, entry_record
from shieldwall.domain import ApiKey, Bank, Scope, SignalType
from shieldwall.engine import Runtime
from shieldwall.exchange import BankFileFormat

router = APIRouter(prefix="/v1/banks", tags=["banks"], responses=ERROR_RESPONSES)
Curate = Depends(require(Scope.CURATE))
#: Largest bank file accepted by import (bytes).
MAX_IMPORT_BYTES = 64 * 1024 * 1024


def _bank(rt: Runtime, bank: Bank) -> dict[str, Any]:
    return bank_record(bank, rt.matcher)


@router.get("", summary="List banks")
def list_banks(request: Request, key: ApiKey = Curate) -> list[dict[str, Any]]:
    rt = service(request).runtime
    return [_bank(rt, bank) for bank in rt.store.list_banks()]


@router.post("", status_code=201, summary="Create a bank")
def create_bank(body: BankCreate, request: Request, key: ApiKey = Curate) -> dict[str, Any]:
    rt = service(request).runtime
    bank = rt.curator.create_bank(
        body.name,
        body.kind,
        body.pdq_threshold,
        body.origin,
        body.region_threshold,
        scope=body.scope,
        actor=actor(key),
    )
    return _bank(rt, bank)


@router.get("/{name}", summary="One bank, with entry counts")
def get_bank(name: str, request: Request, key: ApiKey = Curate) -> dict[str, Any]:
    rt = service(request).runtime
    record = _bank(rt, rt.store.get_bank(name))
    record["entries"] = {s.value: n for s, n in rt.store.count_entries(name).items()}
    return record


@router.patch("/{name}", summary="Enable, disable or re-threshold a bank")
def update_bank(
    name: str, body: BankUpdate, request: Request, key: ApiKey = Curate
) -> dict[str, Any]:
    rt = service(request).runtime
    bank = rt.curator.update_bank(
        name,
        enabled=body.enabled,
        pdq_threshold=body.pdq_threshold,
        region_threshold=body.region_threshold,
        actor=actor(key),
    )
    return _bank(rt, bank)


@router.post("/{name}/entries", status_code=201, openapi_extra=UPLOAD_BODY, summary="Bank an image")
async def add_image(
    name: str,
    request: Request,
    note: str | None = Query(None, max_length=1000),
    case_ref: str | None = Query(None, max_length=200),
    key: ApiKey = Curate,
) -> dict[str, Any]:
    """Hash the image (then dropped) and bank its signals; a ``source`` bank also keeps the
    region signature for derived-fake detection."""
    state = service(request)
    upload = await receive(state, request)
    with state.admission.enter():
        entry = await state.admission.run(
            state.runtime.curator.add_image,
            name,
            upload.data,
            actor(key),
            note or upload.fields.get("note"),
            case_ref or upload.fields.get("case_ref"),
        )
    return entry_record(entry)


@router.post("/{name}/hashes", status_code=201, summary="Bank a hash computed elsewhere")
def add_hash(name: str, body: HashEntry, request: Request, key: ApiKey = Curate) -> dict[str, Any]:
    rt = service(request).runtime
    if body.signal is SignalType.REGION:
        raise ApiError(422, "bad_hash", "region signatures are added by image or bank import")
    if body.signal is SignalType.TEXT:
        raise ApiError(422, "bad_hash", f"text patterns are added at /v1/banks/{name}/texts")
    entry = rt.curator.add_hash(name, body.signal, body.value, actor(key), body.note, body.case_ref)
    return entry_record(entry)


@router.post("/{name}/texts", status_code=201, summary="Block a username, link or phrase")
def add_text(name: str, body: TextEntry, request: Request, key: ApiKey = Curate) -> dict[str, Any]:
    """For a ``text`` bank: matched against scanned text (a caption, a message) after folding
    case, lookalike letters and invisible characters. 409 when it is blocked already."""
    rt = service(request).runtime
    entry = rt.curator.add_text(name, body.pattern, actor(key), body.kind, body.note)
    return entry_record(entry)


@router.get("/{name}/entries/{entry_id}", summary="One entry")
def get_entry(name: str, entry_id: int, request: Request, key: ApiKey = Curate) -> dict[str, Any]:
    return entry_record(service(request).runtime.store.get_entry(name, entry_id))


@router.post("/{name}/entries/{entry_id}/withdraw", summary="Stop an entry matching, at once")
def withdraw(name: str, entry_id: int, request: Request, key: ApiKey = Curate) -> dict[str, Any]:
    return entry_record(service(request).runtime.curator.withdraw(name, entry_id, actor(key)))


@router.post("/{name}/entries/{entry_id}/reinstate", summary="Make a withdrawn entry match again")
def reinstate(name: str, entry_id: int, request: Request, key: ApiKey = Curate) -> dict[str, Any]:
    return entry_record(service(request).runtime.curator.reinstate(name, entry_id, actor(key)))


@router.get("/{name}/export", response_class=PlainTextResponse, summary="Export a bank")
def export(
    name: str,
    request: Request,
    format: BankFileFormat = BankFileFormat.JSONL,
    variants: bool = True,
    key: ApiKey = Curate,
) -> PlainTextResponse:
    out = io.StringIO()
    service(request).runtime.curator.export(name, out, format, variants=variants)
    media = "text/csv" if format is BankFileFormat.CSV else "application/x-ndjson"
    return PlainTextResponse(out.getvalue(), media_type=media)


@router.post("/{name}/import", openapi_extra=TEXT_BODY, summary="Import a bank file")
async def import_file(
    name: str,
    request: Request,
    format: BankFileFormat = BankFileFormat.JSONL,
    key: ApiKey = Curate,
) -> dict[str, Any]:
    """All or nothing; entries the bank holds already are skipped."""
    state = service(request)
    raw = await read_limited(request, MAX_IMPORT_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "bad_bank_file", "a bank file is UTF-8 text") from None
    with state.admission.enter():
        result = await state.admission.run(
            state.runtime.curator.import_text, name, text, format, actor(key)
        )
    return {"added": result.added, "skipped": result.skipped}
