"""What a verdict makes happen (record, quarantine, notify, and adapters' own), each recorded in
the audit log. Imports domain and storage."""

from shieldwall.actions.base import (
    Action,
    ActionOutcome,
    ActionRegistry,
    OutcomeStatus,
    ScanContext,
)
from shieldwall.actions.builtin import (
    NotifyAction,
    QuarantineAction,
    RecordAction,
    match_record,
    reason_record,
)
from shieldwall.actions.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Backoff,
    WebhookSender,
    sign,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Action",
    "ActionOutcome",
    "ActionRegistry",
    "Backoff",
    "NotifyAction",
    "OutcomeStatus",
    "QuarantineAction",
    "RecordAction",
    "ScanContext",
    "WebhookSender",
    "match_record",
    "reason_record",
    "sign",
    "verify_signature",
]
