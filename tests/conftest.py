"""Shared fixtures: sample photos, synthetic images, and databases (SQLite always, PostgreSQL when
reachable). Every storage-backed test runs on both."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from importlib import resources

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from shieldwall.engine import Runtime, open_runtime

POSTGRES_URL = os.environ.get(
    "SHIELDWALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's SHIELDWALL_* settings or writes to ./var."""
    for name in list(os.environ):
        if name.startswith("SHIELDWALL_") and name != "SHIELDWALL_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def sample_bytes() -> dict[str, bytes]:
    folder = resources.files("shieldwall") / "samples"
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name.endswith(".jpg")}


@pytest.fixture(scope="session")
def samples() -> dict[str, bytes]:
    return sample_bytes()


def synthetic_photo(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A textured, photo-like synthetic image (smooth blobs plus noise), distinct per seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    canvas = np.zeros((height, width, 3))
    for _ in range(12):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(20, 160)
        colour = rng.uniform(0, 255, 3)
        weight = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
        canvas += weight[..., None] * colour
    for _ in range(40):  # sharp-edged shapes give PDQ the gradients it scores as quality
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        w, h = rng.integers(8, width // 3), rng.integers(8, height // 3)
        canvas[y0 : y0 + h, x0 : x0 + w] = rng.uniform(0, 255, 3)
    canvas += rng.normal(0, 6, canvas.shape)
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))


def to_bytes(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except (OperationalError, ModuleNotFoundError) as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}"
    return None


_PG_SKIP: str | bool | None = False


def postgres_skip_reason() -> str | None:
    global _PG_SKIP  # noqa: PLW0603 - probed once per session
    if _PG_SKIP is False:
        _PG_SKIP = _postgres_available()
    return _PG_SKIP  # type: ignore[return-value]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/shieldwall.db"
        return
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def runtime(database_url: str) -> Iterator[Runtime]:
    opened = open_runtime(database_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``database_url`` as the SHIELDWALL_DATABASE_URL the CLI reads."""
    monkeypatch.setenv("SHIELDWALL_DATABASE_URL", database_url)
    return database_url
