"""Exact signals: cryptographic digests of the original bytes (exact copies only)."""

from __future__ import annotations

import hashlib


def md5_hex(data: bytes) -> str:
    """MD5 of the bytes. Not for security: StopNCII and HMA exchange MD5 for exact copies."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
