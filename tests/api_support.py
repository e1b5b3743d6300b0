"""Helpers for API tests: an app on a test database with a stand-in classifier, and keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from shieldwall.adapters.api import create_app
from shieldwall.classifiers import EXPLICIT
from shieldwall.domain import Scope
from shieldwall.engine import Runtime
from shieldwall.media import RGBArray
from shieldwall.settings import Settings


class StandIn:
    """Implements the classifier protocol with a score the test sets: the explicit path is
    tested through the interface, never with explicit images."""

    name = "stand-in"

    def __init__(self, score: float = 0.01) -> None:
        self.score = score
        self.calls = 0

    def load(self) -> None:
        pass

    def scores(self, pixels: RGBArray) -> dict[str, float]:
        self.calls += 1
        return {EXPLICIT: self.score}


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    keys: dict[str, str]
    classifier: StandIn | None

    def headers(self, who: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def scan(self, data: bytes, who: str = "scan", **params: str) -> Any:
        return self.client.post(
            "/v1/scan",
            files={"file": ("upload.jpg", data, "image/jpeg")},
            headers=self.headers(who),
            params=params,
        )


@contextmanager
def running_api(
    database_url: str,
    classifier: StandIn | None,
    transport: httpx.BaseTransport | None = None,
    **settings: object,
) -> Iterator[Api]:
    """The app as ``serve`` builds it, on ``database_url``, with ``settings`` overridden."""
    config = Settings(database_url=database_url, **settings)  # type: ignore[arg-type]
    app = create_app(config, classifier=classifier, webhook_transport=transport)
    runtime = app.state.shieldwall.runtime
    keys = {
        name: runtime.keys.create(name, scopes, "test")[1]
        for name, scopes in {
            "scan": {Scope.SCAN},
            "curate": {Scope.CURATE},
            "admin": {Scope.ADMIN},
        }.items()
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, runtime, keys, classifier)
