"""What every command shares: exit codes, options, settings, opening the runtime."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from shieldwall.adapters.setup import runtime_from
from shieldwall.domain import ShieldwallError
from shieldwall.engine import Runtime
from shieldwall.settings import Settings

EXIT_MATCH = 1
EXIT_ERROR = 2

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (else SHIELDWALL_DATABASE_URL, else sqlite:///./var/shieldwall.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        min=1,
        help="Processes hashing files (default: the CPU count, at most 8).",
        show_default=False,
    ),
]
FilesArgument = Annotated[
    list[Path], typer.Argument(help="Image files, or folders of them.", show_default=False)
]


def fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(EXIT_ERROR)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SHIELDWALL_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise fail(f"invalid setting: {problems}") from None


def _safe_url(url: str) -> str:
    """The URL as it may be shown: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


@contextmanager
def runtime(db: str | None, *, load_index: bool = True) -> Iterator[Runtime]:
    """Open the database for one command; typed errors become one line on stderr and exit 2."""
    settings = load_settings()
    url = db or settings.database_url
    try:
        opened = runtime_from(settings, load_index=load_index, database_url=url)
    except ShieldwallError as exc:
        raise fail(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        reason = f"{exc.__class__.__name__}: {exc}".splitlines()[0]
        raise fail(f"cannot open database {_safe_url(url)}: {reason}") from None
    try:
        yield opened
    except ShieldwallError as exc:
        raise fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise fail(f"database error: {str(exc).splitlines()[0]}") from None
    finally:
        opened.close()


def cli_actor() -> str:
    """Who the audit log names for a change made from this shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (containers)
        return "cli"
