"""Bank export/import files: hashes and metadata only, in CSV or JSON Lines.

JSONL: one entry per line, ``{"entry_id", "status", "note", "case_ref", "added_by", "added_at",
"signals": [{"type", "value", "variant", "quality"}]}``.
CSV: one signal per row, columns ``entry_id,signal_type,value,variant,quality,status,case_ref,note,
added_by,added_at``; rows sharing an ``entry_id`` form one entry. Only ``signal_type`` and ``value``
are required on import, so a plain list of hashes (``signal_type,value``) imports as one entry each.

A ``region`` signal (a registered photo's region signature, for derived-fake detection) is written
with its signature, base64-encoded, as the value; in the bank its value is the signature's SHA-256.
A ``text`` signal (a blocklist pattern) is the pattern as entered, its variant the pattern's kind
(username, link, phrase; guessed when absent), so a plain CSV ``signal_type,value`` list of
nudify-bot names imports into a text bank.

Parsing validates the whole file before anything is written: a bad line rejects the import.
"""

from __future__ import annotations

import base64
import binascii
import csv
import enum
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from shieldwall.domain import (
    BankFileError,
    Entry,
    EntrySignal,
    EntryStatus,
    InvalidArgumentError,
    InvalidHashError,
    NewEntry,
    SignalType,
    TextKind,
    guess_text_kind,
    normalise_hash,
    validate_text_pattern,
)

CSV_COLUMNS = (
    "entry_id",
    "signal_type",
    "value",
    "variant",
    "quality",
    "status",
    "case_ref",
    "note",
    "added_by",
    "added_at",
)
#: Largest region signature accepted from a file (ours are ~9 KB).
MAX_PAYLOAD_BYTES = 32_768


class BankFileFormat(enum.StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def write_entries(entries: Iterable[Entry], out: TextIO, fmt: BankFileFormat) -> int:
    """Write ``entries`` to ``out``; return how many entries were written."""
    count = 0
    if fmt is BankFileFormat.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            count += 1
            for s in entry.signals:
                writer.writerow(
                    [
                        entry.id,
                        s.signal.value,
                        _file_value(s),
                        s.variant,
                        "" if s.quality is None else s.quality,
                        entry.status.value,
                        entry.case_ref or "",
                        entry.note or "",
                        entry.added_by,
                        entry.added_at.isoformat(),
                    ]
                )
        return count
    for entry in entries:
        count += 1
        record = {
            "entry_id": entry.id,
            "status": entry.status.value,
            "note": entry.note,
            "case_ref": entry.case_ref,
            "added_by": entry.added_by,
            "added_at": entry.added_at.isoformat(),
            "signals": [
                {
                    "type": s.signal.value,
                    "value": _file_value(s),
                    "variant": s.variant,
                    "quality": s.quality,
                }
                for s in entry.signals
            ],
        }
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return count


def _file_value(signal: EntrySignal) -> str:
    if signal.payload is not None:
        return base64.b64encode(signal.payload).decode("ascii")
    return signal.value


def read_entries(text: str, fmt: BankFileFormat, default_added_by: str) -> list[NewEntry]:
    """Parse a whole file into new entries, or raise BankFileError naming the first bad line."""
    rows = _csv_entries(text) if fmt is BankFileFormat.CSV else _jsonl_entries(text)
    entries: list[NewEntry] = []
    for line, record in rows:
        try:
            entries.append(_new_entry(record, default_added_by))
        except (InvalidHashError, InvalidArgumentError, ValueError, TypeError, KeyError) as exc:
            raise BankFileError(f"line {line}: {exc}") from None
    return entries


def _signal(raw: dict[str, Any]) -> EntrySignal:
    try:
        signal = SignalType(str(raw["type"]).strip().lower())
    except ValueError:
        raise ValueError(f"unknown signal type {raw['type']!r}") from None
    quality = raw.get("quality")
    variant = str(raw.get("variant") or "original")
    level = None if quality in (None, "") else int(quality)
    if signal is SignalType.REGION:
        payload = _payload(str(raw["value"]))
        return EntrySignal(signal, hashlib.sha256(payload).hexdigest(), variant, level, payload)
    if signal is SignalType.TEXT:
        pattern = validate_text_pattern(str(raw["value"]))
        kinds = {k.value for k in TextKind}
        kind = variant if variant in kinds else guess_text_kind(pattern).value
        return EntrySignal(signal, pattern, kind)
    return EntrySignal(signal, normalise_hash(signal, str(raw["value"])), variant, level)


def _payload(text: str) -> bytes:
    if len(text) > MAX_PAYLOAD_BYTES * 4 // 3 + 4:
        raise InvalidHashError(f"region signature longer than {MAX_PAYLOAD_BYTES} bytes")
    try:
        payload = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidHashError("region signature is not base64") from None
    if not payload:
        raise InvalidHashError("region signature is empty")
    return payload


def _new_entry(record: dict[str, Any], default_added_by: str) -> NewEntry:
    raw_signals = record.get("signals")
    if not isinstance(raw_signals, list) or not raw_signals:
        raise ValueError("an entry needs at least one signal")
    status = EntryStatus(str(record.get("status") or EntryStatus.ACTIVE.value))
    return NewEntry(
        signals=tuple(_signal(raw) for raw in raw_signals),
        added_by=str(record.get("added_by") or default_added_by),
        note=record.get("note") or None,
        case_ref=record.get("case_ref") or None,
        status=status,
    )


def _jsonl_entries(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BankFileError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise BankFileError(f"line {number}: expected a JSON object")
        yield number, record


def _csv_entries(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"signal_type", "value"} - set(reader.fieldnames or ())
    if missing:
        raise BankFileError(f"CSV header lacks column(s): {', '.join(sorted(missing))}")
    grouped: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise BankFileError(f"line {number}: more fields than the header has")
        key = (row.get("entry_id") or "").strip() or f"line-{number}"
        signal = {
            "type": row.get("signal_type") or "",
            "value": row.get("value") or "",
            "variant": row.get("variant"),
            "quality": row.get("quality"),
        }
        if key not in grouped:
            grouped[key] = (number, {**row, "signals": []})
        grouped[key][1]["signals"].append(signal)
    yield from grouped.values()
