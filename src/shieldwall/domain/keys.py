"""API keys: who may call what. Only a digest of a key is ever stored."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shieldwall.domain.errors import InvalidArgumentError


class Scope(enum.StrEnum):
    """``scan``: scan, hash and match. ``curate``: banks and entries, reviews. ``admin``:
    everything, including keys and the audit log."""

    SCAN = "scan"
    CURATE = "curate"
    ADMIN = "admin"


def parse_scopes(text: str) -> frozenset[Scope]:
    """``"scan,curate"`` -> {SCAN, CURATE}; unknown or empty -> InvalidArgumentError."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise InvalidArgumentError("name at least one scope: scan, curate, admin")
    try:
        return frozenset(Scope(name) for name in names)
    except ValueError:
        unknown = [n for n in names if n not in {s.value for s in Scope}]
        raise InvalidArgumentError(
            f"unknown scope {unknown[0]!r:.40}; scopes are scan, curate, admin"
        ) from None


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    name: str
    #: Public part of the key, shown in lists and logs to tell keys apart.
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: Scope) -> bool:
        return self.active and (scope in self.scopes or Scope.ADMIN in self.scopes)
