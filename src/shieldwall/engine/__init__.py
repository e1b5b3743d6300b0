"""Use cases: matching, curating banks, scanning bytes. No web, bot or CLI framework here."""

from shieldwall.engine.curator import Curator, ImportResult
from shieldwall.engine.matcher import Matcher, QueryHashes
from shieldwall.engine.runtime import Runtime, open_runtime
from shieldwall.engine.scanner import Scanner, ScanResult

__all__ = [
    "Curator",
    "ImportResult",
    "Matcher",
    "QueryHashes",
    "Runtime",
    "ScanResult",
    "Scanner",
    "open_runtime",
]
