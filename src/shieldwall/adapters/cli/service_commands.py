"""``serve``, ``apikey``, ``audit`` and ``policy``: running and administering the service."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from shieldwall.adapters.cli.common import (
    EXIT_ERROR,
    DbOption,
    JsonOption,
    cli_actor,
    fail,
    load_settings,
    runtime,
)
from shieldwall.adapters.records import event_record, key_record
from shieldwall.domain import ShieldwallError, parse_scopes, verify_chain
from shieldwall.engine.policy import default_policy_text, load_policy

apikey_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Read and verify the audit log.", no_args_is_help=True)
policy_app = typer.Typer(help="Show and check verdict policies.", no_args_is_help=True)
#: Actions the service registers; an adapter (the Telegram bot) may add its own.
BUILTIN_ACTIONS = ("record", "quarantine", "notify")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(audit_app, name="audit")
    app.add_typer(policy_app, name="policy")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    db: DbOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs). Create a key first: shieldwall apikey create."""
    import uvicorn

    from shieldwall.adapters.api import create_app

    settings = load_settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    try:
        app = create_app(settings)
    except ShieldwallError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # a database that cannot be opened, a bad URL
        raise fail(f"cannot start: {exc.__class__.__name__}: {exc}".splitlines()[0]) from None
    state = app.state.shieldwall
    if not state.runtime.keys.list():
        sys.stderr.write(
            "note: no API keys exist yet; create one with: shieldwall apikey create --scope scan\n"
        )
    admission = state.admission
    # uvicorn answers 503 itself, before any of our code runs, beyond this many connections and
    # requests at once: the cheapest possible refusal when far more arrives than can be served.
    concurrency = max(100, 2 * (admission.upload_limit + admission.limit))
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            limit_concurrency=concurrency,
        )
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc}") from None


@apikey_app.command("create")
def apikey_create(
    scope: Annotated[
        str, typer.Option("--scope", help="Comma-separated: scan, curate, admin.")
    ] = "scan",
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")] = "default",
    db: DbOption = None,
) -> None:
    """Create a key and print it once (only its digest is stored)."""
    with runtime(db, load_index=False) as rt:
        key, token = rt.keys.create(name, parse_scopes(scope), cli_actor())
    sys.stderr.write(
        f"created key {key.id} ({key.name}, prefix {key.prefix}, scopes "
        f"{','.join(sorted(key.scopes))}); it is shown only now:\n"
    )
    typer.echo(token)


@apikey_app.command("list")
def apikey_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List keys (never their secrets)."""
    with runtime(db, load_index=False) as rt:
        for key in rt.keys.list():
            if as_json:
                typer.echo(json.dumps(key_record(key)))
            else:
                state = "revoked" if key.revoked_at else "active"
                scopes = ",".join(sorted(key.scopes))
                typer.echo(f"{key.id}\t{key.prefix}\t{key.name}\t{scopes}\t{state}")


@apikey_app.command("revoke")
def apikey_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or prefix.")], db: DbOption = None
) -> None:
    """Revoke a key: refused at once by this process, by a running service within 5 s."""
    with runtime(db, load_index=False) as rt:
        revoked = rt.keys.revoke(key, cli_actor())
    typer.echo(f"revoked key {revoked.id} ({revoked.name}, prefix {revoked.prefix})")


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Walk the hash chain from the first event; name the first broken one (exit 2)."""
    with runtime(db, load_index=False) as rt:
        report = verify_chain(rt.audit.iter_events())
    if report.broken is not None:
        sys.stderr.write(
            f"audit chain BROKEN at event {report.broken.seq}: {report.broken.problem} "
            f"({report.checked} events before it are intact)\n"
        )
        raise typer.Exit(EXIT_ERROR)
    typer.echo(f"audit chain intact: {report.checked} events, last hash {report.last_hash}")


@audit_app.command("tail")
def audit_tail(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many events.")] = 20,
    event: Annotated[str | None, typer.Option(help="Only this event, e.g. scan.decided.")] = None,
    db: DbOption = None,
) -> None:
    """Print the latest events as JSON lines, oldest first."""
    with runtime(db, load_index=False) as rt:
        events = rt.audit.recent(limit, event)
    for e in reversed(events):
        typer.echo(json.dumps(event_record(e)))


@policy_app.command("show")
def policy_show() -> None:
    """Print the bundled default policy (a documented TOML file to copy and edit)."""
    typer.echo(default_policy_text(), nl=False)


@policy_app.command("check")
def policy_check(path: Annotated[Path, typer.Argument(help="A policy TOML file.")]) -> None:
    """Load a policy file as the service would; print its version or the first problem."""
    try:
        policy = load_policy(path, BUILTIN_ACTIONS)
    except ShieldwallError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"policy {policy.label} is valid")
