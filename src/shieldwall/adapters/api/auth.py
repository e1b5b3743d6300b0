"""Bearer API keys with scopes: 401 without a valid key, 403 without the scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shieldwall.adapters.api.errors import ApiError
from shieldwall.adapters.api.state import service
from shieldwall.domain import ApiKey, Scope

bearer = HTTPBearer(auto_error=False, description="An API key: `shieldwall apikey create`.")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def require(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    async def check(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> ApiKey:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(
                401, "unauthorized", "send an API key: Authorization: Bearer <key>", CHALLENGE
            )
        keys = service(request).runtime.keys
        # A cached answer costs a dict lookup: no thread hop, which under overload would queue
        # every request (refused ones included) behind the scan workers for the GIL.
        known, key = keys.cached(credentials.credentials)
        if not known:
            key = await anyio.to_thread.run_sync(keys.authenticate, credentials.credentials)
        if key is None:
            raise ApiError(401, "unauthorized", "the API key is unknown or revoked", CHALLENGE)
        if not key.allows(scope):
            raise ApiError(403, "forbidden", f"this key lacks the {scope.value!r} scope")
        return key

    return check


def actor(key: ApiKey) -> str:
    return f"api:{key.name}#{key.prefix}"
