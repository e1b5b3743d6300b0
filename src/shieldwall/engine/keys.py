"""API keys: made, checked and revoked here; every change is audited.

A key reads ``swk_<prefix>_<secret>``: the prefix (public, 10 characters) finds the row, and the
SHA-256 of the whole key is compared in constant time. Keys carry ~190 random bits, so a fast
digest is enough (a slow password hash protects guessable secrets, not random ones). Checked keys
are cached for ``cache_seconds`` so a scan does not read the database; a revocation in this
process applies at once, one made by another process within the cache time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
import time
from collections.abc import Collection

from shieldwall.domain import ApiKey, InvalidArgumentError, NewAuditEvent, Scope
from shieldwall.storage import AuditStore, KeyStore

KEY_PREFIX = "swk"
PREFIX_LENGTH = 10
SECRET_BYTES = 24
_ALPHABET = string.ascii_lowercase + string.digits
#: Seconds a checked key is trusted without reading the database again.
DEFAULT_CACHE_SECONDS = 5.0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class KeyManager:
    def __init__(
        self, keys: KeyStore, audit: AuditStore, cache_seconds: float = DEFAULT_CACHE_SECONDS
    ) -> None:
        self._keys = keys
        self._audit = audit
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, scopes: Collection[Scope], actor: str) -> tuple[ApiKey, str]:
        """A new key and its secret text; the text is shown once and never stored."""
        if not scopes:
            raise InvalidArgumentError("a key needs at least one scope")
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidArgumentError("a key name is 1-100 characters")
        prefix = "".join(secrets.choice(_ALPHABET) for _ in range(PREFIX_LENGTH))
        token = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        key = self._keys.create(name, prefix, _digest(token), scopes)
        self._audit.append(
            [
                NewAuditEvent(
                    actor,
                    "key.created",
                    f"key:{key.prefix}",
                    {"id": key.id, "name": key.name, "scopes": sorted(scopes)},
                )
            ]
        )
        return key, token

    def revoke(self, ident: str, actor: str) -> ApiKey:
        key = self._keys.revoke(ident)
        with self._lock:
            self._cache.clear()
        self._audit.append(
            [NewAuditEvent(actor, "key.revoked", f"key:{key.prefix}", {"id": key.id})]
        )
        return key

    def list(self) -> list[ApiKey]:
        return self._keys.list()

    def cached(self, token: str) -> tuple[bool, ApiKey | None]:
        """(True, key or None) when the answer is known without the database: a malformed
        token, or one checked within the cache time. Cheap enough for an event loop."""
        parsed = _parse(token)
        if parsed is None:
            return True, None
        return self._from_cache(parsed[1])

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key ``token`` is, or None (malformed, unknown, wrong secret, revoked)."""
        parsed = _parse(token)
        if parsed is None:
            return None
        prefix, digest = parsed
        known, key = self._from_cache(digest)
        if known:
            return key
        now = time.monotonic()
        found = self._keys.by_prefix(prefix)
        if found is not None and hmac.compare_digest(found[1], digest) and found[0].active:
            key = found[0]
        with self._lock:
            if len(self._cache) > 10_000:  # random wrong keys must not grow it without bound
                self._cache.clear()
            self._cache[digest] = (now, key)
        return key

    def _from_cache(self, digest: str) -> tuple[bool, ApiKey | None]:
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and time.monotonic() - hit[0] < self._cache_seconds:
            return True, hit[1]
        return False, None


def _parse(token: str) -> tuple[str, str] | None:
    """(prefix, digest) of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != PREFIX_LENGTH:
        return None
    return parts[1], _digest(token)
