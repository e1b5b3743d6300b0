"""Frozen value types shared by every layer. No I/O, no framework imports."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from shieldwall.domain.errors import InvalidArgumentError, InvalidHashError

#: PDQ Hamming distance at or under which two hashes are taken as the same image. 31 of 256 bits is
#: the threshold Meta publishes for PDQ and HMA uses; banks may tighten or loosen it.
DEFAULT_PDQ_THRESHOLD = 31
#: Largest per-bank threshold accepted. Far above this, unrelated photos start to match.
MAX_PDQ_THRESHOLD = 63
#: PDQ quality (0-100) under which a hash is stored but never matched: flat or near-empty images
#: give unstable hashes that collide with each other.
MIN_PDQ_QUALITY = 50


#: Region-signature score (distinct keypoints of a registered photo's intact area that agree on one
#: placement in the query) at or above which a derived match is reported. Chosen on the corpus
#: benchmark (bench/derived_fakes.py): 96.3% of fakes matched; the only wrong photos reaching it
#: were a same-scene pair and one donor of a pasted patch. 32 gives zero false matches there, at
#: 93.6% recall (bench/RESULTS.md has the whole table).
DEFAULT_REGION_THRESHOLD = 16
#: Range a bank's region threshold may be set in.
REGION_THRESHOLD_RANGE = (8, 256)


def pdq_matchable(quality: int | None) -> bool:
    """Whether a PDQ hash of this quality is matched. Unknown quality (a hash from a list or a
    partner, computed elsewhere) is trusted: the sender vouched for it."""
    return quality is None or quality >= MIN_PDQ_QUALITY


_BANK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class SignalType(enum.StrEnum):
    """A kind of hash. Values are the names used in exports, the CLI and APIs."""

    PDQ = "pdq"
    MD5 = "md5"
    SHA256 = "sha256"
    #: Region signature of a registered photo (derived-fake detection, ``source`` banks). Its
    #: value is the SHA-256 of the signature; the signature itself is the signal's payload.
    REGION = "region"
    #: A blocklist pattern of a ``text`` bank (a username, a link or a phrase, as entered; the
    #: variant names which). Matched against message text after normalisation (signals.text).
    TEXT = "text"


#: Hex length of each signal type's canonical string (HMA/ThreatExchange/StopNCII compatible).
HEX_LENGTH: dict[SignalType, int] = {
    SignalType.PDQ: 64,
    SignalType.MD5: 32,
    SignalType.SHA256: 64,
    SignalType.REGION: 64,
}
#: Longest text pattern accepted (characters, as entered).
MAX_TEXT_PATTERN = 128


def normalise_hash(signal: SignalType, value: str) -> str:
    """Return ``value`` as canonical lowercase hex, or raise InvalidHashError saying why not."""
    if signal not in HEX_LENGTH:
        raise InvalidHashError(f"{signal.value} values are not hashes")
    text = value.strip().lower()
    expected = HEX_LENGTH[signal]
    if len(text) != expected:
        raise InvalidHashError(
            f"{signal.value} hash must be {expected} hex characters, got {len(text)}: {value!r:.80}"
        )
    try:
        int(text, 16)
    except ValueError:
        raise InvalidHashError(f"{signal.value} hash is not hexadecimal: {value!r:.80}") from None
    if not all(c in "0123456789abcdef" for c in text):  # int() accepts "_" and "0x"
        raise InvalidHashError(f"{signal.value} hash is not hexadecimal: {value!r:.80}")
    return text


class BankKind(enum.StrEnum):
    """What a bank's entries mean to the policy."""

    KNOWN = "known"  # abusive images to block
    SOURCE = "source"  # a person's registered public photos (derived-fake detection)
    ALLOW = "allow"  # false positives never to act on
    TEXT = "text"  # blocklisted usernames, links and phrases (e.g. nudify-bot adverts)


class TextKind(enum.StrEnum):
    """What a text pattern is; it decides how the pattern is compared (signals.text)."""

    USERNAME = "username"  # @name: found inside any run of letters and digits
    LINK = "link"  # a domain or URL: found with its punctuation stripped
    PHRASE = "phrase"  # words: found as whole words


def guess_text_kind(pattern: str) -> TextKind:
    """@name is a username; a URL or a dotted name without spaces is a link; else a phrase."""
    text = pattern.strip()
    if text.startswith("@") and " " not in text:
        return TextKind.USERNAME
    if " " not in text and ("://" in text or "." in text.strip(".")):
        return TextKind.LINK
    return TextKind.PHRASE


def validate_text_pattern(pattern: str) -> str:
    """The pattern as stored (stripped), or InvalidArgumentError saying why not. Only its form
    is checked here; signals.text refuses patterns too short to match safely."""
    text = pattern.strip()
    if not text:
        raise InvalidArgumentError("a text pattern cannot be empty")
    if len(text) > MAX_TEXT_PATTERN:
        raise InvalidArgumentError(
            f"a text pattern is at most {MAX_TEXT_PATTERN} characters, got {len(text)}"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidArgumentError("a text pattern cannot contain control characters")
    return text


class EntryStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"  # e.g. a victim withdrew consent to keep it: stops matching at once
    DELETED = "deleted"


def validate_bank_name(name: str) -> str:
    if not _BANK_NAME.match(name):
        raise InvalidArgumentError(
            f"bank name {name!r:.80} must be 1-64 characters of letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    return name


_SCOPE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def validate_scope(scope: str | None) -> str | None:
    if scope is not None and not _SCOPE.match(scope):
        raise InvalidArgumentError(
            f"bank scope {scope!r:.80} must be 1-64 characters of letters, digits, '_', '.', "
            "':', '-'"
        )
    return scope


def validate_region_threshold(threshold: int) -> int:
    low, high = REGION_THRESHOLD_RANGE
    if not low <= threshold <= high:
        raise InvalidArgumentError(
            f"region threshold must be between {low} and {high}, got {threshold}"
        )
    return threshold


def validate_threshold(threshold: int) -> int:
    if not 0 <= threshold <= MAX_PDQ_THRESHOLD:
        raise InvalidArgumentError(
            f"PDQ threshold must be between 0 and {MAX_PDQ_THRESHOLD}, got {threshold}"
        )
    return threshold


@dataclass(frozen=True, slots=True)
class Bank:
    id: int
    name: str
    kind: BankKind
    enabled: bool
    pdq_threshold: int
    origin: str
    created_at: datetime
    updated_at: datetime
    region_threshold: int = DEFAULT_REGION_THRESHOLD
    #: Where the bank applies: None everywhere; otherwise only to scans made with this scope
    #: (e.g. "telegram:-1001234": one group's allow list and blocked phrases, which must not
    #: allow or block anything in other groups).
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class EntrySignal:
    """One hash of an entry. ``variant`` names how it was derived from the banked content:
    ``"original"`` for the hash of the content as given, ``"crop-..."`` for bank-side crop variants
    that let cropped copies match (see signals.variants)."""

    signal: SignalType
    value: str
    variant: str = "original"
    quality: int | None = None
    #: The signal's data when the value only names it (a region signature: value = its SHA-256).
    payload: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Entry:
    """One banked item: the hashes of one image (never the image), with its provenance."""

    id: int
    bank_id: int
    status: EntryStatus
    signals: tuple[EntrySignal, ...]
    added_by: str
    added_at: datetime
    note: str | None = None
    case_ref: str | None = None


@dataclass(frozen=True, slots=True)
class NewEntry:
    """What a caller supplies to add an entry; the store assigns id and time."""

    signals: tuple[EntrySignal, ...]
    added_by: str
    note: str | None = None
    case_ref: str | None = None
    status: EntryStatus = EntryStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class RegionEvidence:
    """Why a query was taken as derived from a registered photo: ``score`` keypoints of the
    photo's intact area agree on one placement (``scale``, ``rotation_degrees``) in the query;
    ``changed_box`` (left, top, right, bottom, relative to the query) is where the query differs
    from the photo, None when no part differs (a plain copy)."""

    score: int
    scale: float
    rotation_degrees: float
    changed_box: tuple[float, float, float, float] | None
    changed_share: float


@dataclass(frozen=True, slots=True)
class Match:
    """One bank entry that a query matched, by which signal and how closely (0 = identical)."""

    bank: str
    bank_kind: BankKind
    entry_id: int
    signal: SignalType
    distance: int
    #: Set for a derived match (signal ``region``); ``distance`` is then 0.
    region: RegionEvidence | None = None
