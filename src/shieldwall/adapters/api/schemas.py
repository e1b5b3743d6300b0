"""Request models and the OpenAPI description of upload bodies. Replies are plain JSON built
from domain objects (see ``records``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shieldwall.domain import (
    DEFAULT_PDQ_THRESHOLD,
    DEFAULT_REGION_THRESHOLD,
    MAX_TEXT_PATTERN,
    BankKind,
    SignalType,
    TextKind,
)

#: OpenAPI for endpoints that read the body themselves (in memory, under the byte limit).
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "reference": {"type": "string", "maxLength": 200},
                    },
                }
            },
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
TEXT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


class ErrorBody(BaseModel):
    """Every error reply."""

    error: str = Field(description="Stable code, e.g. bad_hash, too_many_bytes, overloaded.")
    detail: str = Field(description="What went wrong, for people.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed request",
        401: "No key, or an unknown or revoked one",
        403: "The key lacks the scope",
        404: "No such bank, entry, key, review or scan",
        408: "The body took too long to arrive",
        409: "Exists already",
        413: "Over the byte or pixel limit",
        415: "Not a supported image type",
        422: "Corrupt image, bad hash, bad JSON or parameter",
        503: "Busy: retry after the Retry-After seconds",
    }.items()
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MatchRequest(Strict):
    pdq: str | None = Field(None, description="PDQ hash, 64 hex characters.")
    md5: str | None = Field(None, description="MD5 of the file, 32 hex characters.")
    sha256: str | None = Field(None, description="SHA-256 of the file, 64 hex characters.")
    reference: str | None = Field(None, max_length=200, description="Your id for the item.")


class BankCreate(Strict):
    name: str = Field(max_length=64)
    kind: BankKind = BankKind.KNOWN
    pdq_threshold: int = Field(DEFAULT_PDQ_THRESHOLD, ge=0, le=63)
    region_threshold: int = Field(DEFAULT_REGION_THRESHOLD, ge=8, le=256)
    origin: str = Field("local", max_length=64)
    scope: str | None = Field(
        None, max_length=64, description="Only scans with this scope use the bank (none: all)."
    )


class BankUpdate(Strict):
    enabled: bool | None = None
    pdq_threshold: int | None = Field(None, ge=0, le=63)
    region_threshold: int | None = Field(None, ge=8, le=256)


class HashEntry(Strict):
    signal: SignalType = Field(description="pdq, md5 or sha256.")
    value: str = Field(max_length=128)
    note: str | None = Field(None, max_length=1000)
    case_ref: str | None = Field(None, max_length=200)


class TextEntry(Strict):
    pattern: str = Field(min_length=1, max_length=MAX_TEXT_PATTERN)
    kind: TextKind | None = Field(None, description="username, link or phrase (guessed if unset).")
    note: str | None = Field(None, max_length=1000)


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, description="scan, curate, admin")


class ReviewDecision(Strict):
    outcome: str = Field(description="allowed or blocked")
