"""KeyStore: API keys by their public prefix; only a digest of each key is stored."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from shieldwall.domain import ApiKey, ApiKeyNotFoundError, Scope
from shieldwall.storage.clock import as_utc, now_utc
from shieldwall.storage.schema import ApiKeyRow


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id,
        row.name,
        row.prefix,
        frozenset(Scope(s) for s in row.scopes.split(",") if s),
        as_utc(row.created_at),
        as_utc(row.revoked_at) if row.revoked_at else None,
    )


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def create(self, name: str, prefix: str, digest: str, scopes: Collection[Scope]) -> ApiKey:
        row = ApiKeyRow(
            name=name,
            prefix=prefix,
            key_digest=digest,
            scopes=",".join(sorted(s.value for s in scopes)),
            created_at=now_utc(),
        )
        with self._sessions.begin() as session:
            session.add(row)
        return _key(row)

    def by_prefix(self, prefix: str) -> tuple[ApiKey, str] | None:
        """The key with this prefix and its stored digest, or None."""
        with self._sessions() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
            return (_key(row), row.key_digest) if row is not None else None

    def list(self) -> list[ApiKey]:
        with self._sessions() as session:
            return [_key(r) for r in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]

    def revoke(self, ident: str) -> ApiKey:
        """Revoke by id or prefix. Revoking a revoked key keeps its first revocation time."""
        with self._sessions.begin() as session:
            query = select(ApiKeyRow).where(ApiKeyRow.prefix == ident)
            if ident.isdigit():
                query = select(ApiKeyRow).where(ApiKeyRow.id == int(ident))
            row = session.scalar(query)
            if row is None:
                raise ApiKeyNotFoundError(f"no API key has id or prefix {ident!r:.40}")
            if row.revoked_at is None:
                row.revoked_at = now_utc()
            return _key(row)
