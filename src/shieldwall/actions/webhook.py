"""Sends queued webhooks: HMAC-signed, retried with exponential backoff, results audited.

Receivers check ``X-Shieldwall-Signature: sha256=<hex>``, an HMAC-SHA256 with the shared secret
over ``<X-Shieldwall-Timestamp>.<body>``, and refuse old timestamps (``verify_signature``). A
delivery is retried on a network error or a 5xx/429 answer, up to ``Backoff.max_attempts``; a
4xx other than 429 means the receiver refused it, so it fails at once. The outbox lives in the
database, so deliveries survive a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from shieldwall.domain import NewAuditEvent
from shieldwall.storage import AuditStore, Delivery, OutboxStore
from shieldwall.storage.outbox_store import DELIVERED, FAILED, PENDING

SIGNATURE_HEADER = "X-Shieldwall-Signature"
TIMESTAMP_HEADER = "X-Shieldwall-Timestamp"
#: Seconds a receiver should accept a timestamp for (replay window).
SIGNATURE_TOLERANCE = 300
log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: str,
    signature: str,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE,
) -> bool:
    """What a receiver runs: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry n (1-based): base * factor**(n-1), capped, +-jitter share."""

    base_seconds: float = 2.0
    factor: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int = 10
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        raw = min(self.cap_seconds, self.base_seconds * self.factor ** (attempt - 1))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, raw * (1 + spread))


class WebhookSender:
    def __init__(
        self,
        outbox: OutboxStore,
        audit: AuditStore,
        secret: str,
        *,
        backoff: Backoff | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_seconds: float = 5.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self._outbox = outbox
        self._audit = audit
        self._secret = secret
        self._backoff = backoff or Backoff()
        self._client = httpx.Client(transport=transport, timeout=timeout_seconds)
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send_due(self) -> int:
        """Try every delivery that is due once; return how many were tried."""
        due = self._outbox.due()
        for delivery in due:
            self._attempt(delivery)
        return len(due)

    def _attempt(self, delivery: Delivery) -> None:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, timestamp, delivery.body),
            TIMESTAMP_HEADER: timestamp,
            "User-Agent": "shieldwall-webhook",
        }
        error: str | None = None
        retry = True
        try:
            response = self._client.post(delivery.url, content=delivery.body, headers=headers)
            if response.is_success:
                error, retry = None, False
            else:
                error = f"HTTP {response.status_code}"
                retry = response.status_code >= 500 or response.status_code == 429
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:500]
        attempts = delivery.attempts + 1
        now = datetime.now(UTC)
        if error is None:
            self._finish(delivery, DELIVERED, None, attempts, now)
        elif retry and attempts < self._backoff.max_attempts:
            later = now + timedelta(seconds=self._backoff.delay(attempts))
            self._outbox.record_attempt(delivery.id, PENDING, error, later)
        else:
            self._finish(delivery, FAILED, error, attempts, now)

    def _finish(
        self, delivery: Delivery, status: str, error: str | None, attempts: int, now: datetime
    ) -> None:
        self._outbox.record_attempt(delivery.id, status, error, now)
        payload = {"delivery_id": delivery.id, "attempts": attempts, "url": delivery.url}
        if error:
            payload["error"] = error
            log.warning("webhook %s failed after %d attempts: %s", delivery.id, attempts, error)
        self._audit.append(
            [NewAuditEvent("webhook", f"notify.{status}", delivery.scan_id, payload)]
        )

    # -- background thread (the service runs one) ------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """A delivery was queued: send it now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception:  # keep sending after a database hiccup; the outbox keeps the work
                log.exception("webhook sender: a round failed")
            self._wake.wait(self._poll)
            self._wake.clear()
