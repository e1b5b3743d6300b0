"""Wiring: one database URL in, the store, matcher, curator and scanner out, ready to use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from shieldwall.engine.curator import Curator
from shieldwall.engine.matcher import Matcher
from shieldwall.engine.scanner import Scanner
from shieldwall.media import DecodeLimits
from shieldwall.signals import DEFAULT_WINDOWS, CropWindow
from shieldwall.storage import BankStore, create_database_engine, migrate


@dataclass
class Runtime:
    engine: Engine
    store: BankStore
    matcher: Matcher
    curator: Curator
    scanner: Scanner
    limits: DecodeLimits

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(
    database_url: str,
    limits: DecodeLimits | None = None,
    *,
    load_index: bool = True,
    crop_windows: tuple[CropWindow, ...] = DEFAULT_WINDOWS,
) -> Runtime:
    """Open (and migrate) the database; build the indexes unless ``load_index`` is False.
    ``crop_windows`` are the bank-side crop variants hashed for each banked image."""
    limits = limits or DecodeLimits()
    engine = create_database_engine(database_url)
    migrate(engine)
    store = BankStore(engine)
    matcher = Matcher(store)
    if load_index:
        matcher.load()
    return Runtime(
        engine,
        store,
        matcher,
        Curator(store, matcher, limits, crop_windows),
        Scanner(matcher, limits),
        limits,
    )
