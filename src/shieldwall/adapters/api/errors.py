"""Every error the API gives is JSON ``{"error": <stable code>, "detail": <for people>}``:
4xx for what the caller can fix, 503 when the service is busy; never a 500 for bad input."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shieldwall.domain import (
    ApiKeyNotFoundError,
    BankExistsError,
    BankFileError,
    BankNotFoundError,
    ClassifierUnavailableError,
    DecodeError,
    DecodeFailure,
    EntryExistsError,
    EntryNotFoundError,
    InvalidArgumentError,
    InvalidHashError,
    PolicyError,
    ReviewNotFoundError,
    ShieldwallError,
)

log = logging.getLogger(__name__)

DECODE_STATUS = {
    DecodeFailure.TOO_MANY_BYTES: 413,
    DecodeFailure.TOO_MANY_PIXELS: 413,
    DecodeFailure.NOT_AN_IMAGE: 415,
    DecodeFailure.UNSUPPORTED_FORMAT: 415,
    DecodeFailure.EMPTY: 422,
    DecodeFailure.TRUNCATED: 422,
    DecodeFailure.CORRUPT: 422,
}
DOMAIN_STATUS: list[tuple[type[ShieldwallError], int, str]] = [
    (BankNotFoundError, 404, "bank_not_found"),
    (EntryNotFoundError, 404, "entry_not_found"),
    (ApiKeyNotFoundError, 404, "key_not_found"),
    (ReviewNotFoundError, 404, "review_not_found"),
    (BankExistsError, 409, "bank_exists"),
    (EntryExistsError, 409, "entry_exists"),
    (InvalidHashError, 422, "bad_hash"),
    (BankFileError, 422, "bad_bank_file"),
    (InvalidArgumentError, 422, "bad_argument"),
    (PolicyError, 422, "bad_policy"),
    (ClassifierUnavailableError, 503, "classifier_unavailable"),
]


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status, headers=headers)


def classify(exc: Exception) -> tuple[int, str, str]:
    """(status, code, detail) for an exception raised while handling a request."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.detail
    if isinstance(exc, DecodeError):
        return DECODE_STATUS[exc.reason], exc.reason.value, exc.detail
    for kind, status, code in DOMAIN_STATUS:
        if isinstance(exc, kind):
            return status, code, str(exc)
    if isinstance(exc, ShieldwallError):
        return 422, "bad_request", str(exc)
    return 500, "internal", "internal error (logged)"


def install(app: FastAPI, count_error: Callable[[str], None]) -> None:
    async def known(request: Request, exc: Exception) -> JSONResponse:
        status, code, detail = classify(exc)
        count_error(code)
        headers = exc.headers if isinstance(exc, ApiError) else None
        return error_response(status, code, detail, headers)

    async def busy(request: Request, exc: Exception) -> JSONResponse:
        count_error("database_busy")
        log.warning("database busy: %s", str(exc).splitlines()[0])
        return error_response(
            503, "database_busy", "the database is busy; retry shortly", {"Retry-After": "1"}
        )

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        count_error("bad_request")
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()[:5]
        )
        return error_response(422, "bad_request", problems[:500])

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        count_error(f"http_{exc.status_code}")
        return error_response(exc.status_code, f"http_{exc.status_code}", str(exc.detail))

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        count_error("internal")
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error (logged)")

    app.add_exception_handler(ApiError, known)
    app.add_exception_handler(ShieldwallError, known)
    app.add_exception_handler(OperationalError, busy)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, internal)
