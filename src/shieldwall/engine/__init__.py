"""Use cases: matching, curating banks, scanning bytes. No web, bot or CLI framework here."""

from shieldwall.engine.curator import Curator, ImportResult
from shieldwall.engine.keys import KeyManager
from shieldwall.engine.matcher import Matcher, QueryHashes
from shieldwall.engine.moderation import STAGES, Moderator, ScanDecision
from shieldwall.engine.policy import Policy, load_policy, parse_policy
from shieldwall.engine.runtime import Runtime, open_runtime
from shieldwall.engine.scanner import Scanner, ScanResult

__all__ = [
    "STAGES",
    "Curator",
    "ImportResult",
    "KeyManager",
    "Matcher",
    "Moderator",
    "Policy",
    "QueryHashes",
    "Runtime",
    "ScanDecision",
    "ScanResult",
    "Scanner",
    "load_policy",
    "open_runtime",
    "parse_policy",
]
