"""Typed errors. Every failure a user can cause is one of these, with a message fit to show."""

from __future__ import annotations

import enum


class ShieldwallError(Exception):
    """Base of every error Shieldwall raises on purpose (user error, bad input, missing thing)."""


class DecodeFailure(enum.StrEnum):
    """Why bytes could not become an image. Stable values: APIs and logs report them."""

    EMPTY = "empty"
    TOO_MANY_BYTES = "too_many_bytes"
    TOO_MANY_PIXELS = "too_many_pixels"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"


class DecodeError(ShieldwallError):
    """Input bytes were refused before or during decoding; ``reason`` says why."""

    def __init__(self, reason: DecodeFailure, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class InvalidHashError(ShieldwallError):
    """A hash string is malformed for its signal type."""


class BankNotFoundError(ShieldwallError):
    """No bank has the given name."""


class BankExistsError(ShieldwallError):
    """A bank with the given name exists already."""


class EntryExistsError(ShieldwallError):
    """The bank holds this value already (a text pattern added twice)."""


class EntryNotFoundError(ShieldwallError):
    """No entry with the given id exists in the bank."""


class InvalidArgumentError(ShieldwallError):
    """A parameter is out of range or inconsistent (a threshold, a bank name, a kind)."""


class BankFileError(ShieldwallError):
    """An import file is malformed; nothing of it was written."""


class ClassifierUnavailableError(ShieldwallError):
    """A classifier's model or its package is not installed; the message says how to install it."""


class ApiKeyNotFoundError(ShieldwallError):
    """No API key has the given id or prefix."""


class PolicyError(ShieldwallError):
    """A policy file is malformed or names something unknown; the policy was not loaded."""


class ReviewNotFoundError(ShieldwallError):
    """No review item has the given id."""
