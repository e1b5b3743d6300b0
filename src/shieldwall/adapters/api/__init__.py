"""HTTP API (FastAPI): scan, match, hash, banks, keys, audit, reviews, metrics."""

from shieldwall.adapters.api.app import create_app

__all__ = ["create_app"]
