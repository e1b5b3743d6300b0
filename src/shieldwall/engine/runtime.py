"""Wiring: one database URL in, the stores, matcher, curator, scanner and moderator out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from shieldwall.actions import (
    Action,
    ActionRegistry,
    NotifyAction,
    QuarantineAction,
    RecordAction,
)
from shieldwall.classifiers import Classifier
from shieldwall.engine.curator import Curator
from shieldwall.engine.keys import KeyManager
from shieldwall.engine.matcher import Matcher
from shieldwall.engine.moderation import Moderator
from shieldwall.engine.policy import load_policy
from shieldwall.engine.scanner import Scanner
from shieldwall.media import DecodeLimits
from shieldwall.signals import DEFAULT_WINDOWS, CropWindow
from shieldwall.storage import (
    AuditStore,
    BankStore,
    KeyStore,
    OutboxStore,
    ReviewStore,
    create_database_engine,
    migrate,
)


@dataclass
class Runtime:
    engine: Engine
    store: BankStore
    matcher: Matcher
    curator: Curator
    scanner: Scanner
    limits: DecodeLimits
    audit: AuditStore
    keys: KeyManager
    reviews: ReviewStore
    outbox: OutboxStore
    moderator: Moderator

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(
    database_url: str,
    limits: DecodeLimits | None = None,
    *,
    load_index: bool = True,
    crop_windows: tuple[CropWindow, ...] = DEFAULT_WINDOWS,
    policy_file: Path | None = None,
    classifier: Classifier | None = None,
    webhook_url: str | None = None,
    extra_actions: Sequence[Action] = (),
) -> Runtime:
    """Open (and migrate) the database; build the indexes unless ``load_index`` is False.
    ``crop_windows`` are the bank-side crop variants hashed for each banked image. The policy
    (the bundled default unless ``policy_file``) may name the built-in actions and
    ``extra_actions``; it is checked before the database is touched."""
    limits = limits or DecodeLimits()
    engine = create_database_engine(database_url)
    audit, reviews, outbox = AuditStore(engine), ReviewStore(engine), OutboxStore(engine)
    actions = ActionRegistry(
        [RecordAction(), QuarantineAction(reviews), NotifyAction(outbox, webhook_url)]
    )
    for action in extra_actions:
        actions.register(action)
    try:
        policy = load_policy(policy_file, actions.names())
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    store = BankStore(engine)
    matcher = Matcher(store)
    if load_index:
        matcher.load()
    scanner = Scanner(matcher, limits)
    return Runtime(
        engine,
        store,
        matcher,
        Curator(store, matcher, limits, crop_windows, audit),
        scanner,
        limits,
        audit,
        KeyManager(KeyStore(engine), audit),
        reviews,
        outbox,
        Moderator(scanner, policy, actions, audit, classifier),
    )
