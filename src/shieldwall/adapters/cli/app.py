"""``shieldwall``: hash images, manage banks, match files. Exit codes: 0 ok / no match,
1 a match (``match``), 2 an error (a message on stderr, never a traceback for user error)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from shieldwall import __version__
from shieldwall.actions import match_record
from shieldwall.adapters.cli import files, service_commands, telegram_command
from shieldwall.adapters.cli.common import (
    EXIT_ERROR,
    EXIT_MATCH,
    DbOption,
    FilesArgument,
    JobsOption,
    JsonOption,
    cli_actor,
    fail,
    load_settings,
    runtime,
)
from shieldwall.adapters.cli.demo import run_demo
from shieldwall.adapters.cli.hashing import default_jobs, hash_paths
from shieldwall.domain import (
    DEFAULT_PDQ_THRESHOLD,
    DEFAULT_REGION_THRESHOLD,
    MIN_PDQ_QUALITY,
    BankKind,
    Entry,
    EntryExistsError,
    InvalidArgumentError,
    Match,
    ShieldwallError,
    SignalType,
    TextKind,
    pdq_matchable,
)
from shieldwall.exchange import BankFileFormat
from shieldwall.signals import MIN_KEYPOINTS

app = typer.Typer(
    help="Shieldwall: hash banks and matching against non-consensual intimate imagery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
bank_app = typer.Typer(help="Create and curate hash banks.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
service_commands.register(app)
app.command()(telegram_command.telegram)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command("hash")
def hash_files(paths: FilesArgument, as_json: JsonOption = False, jobs: JobsOption = None) -> None:
    """Print PDQ (with quality), MD5 and SHA-256 of each image."""
    limits = load_settings().decode_limits()
    failed = False
    targets = _targets(paths)
    with files.progress(len(targets), "hashing") as bar:
        for path, signals in hash_paths(
            targets, limits, dihedral=False, jobs=jobs or default_jobs()
        ):
            if isinstance(signals, str):
                files.warn(path, signals)
                failed = True
            else:
                record = {
                    "file": str(path),
                    "pdq": signals.pdq.hex,
                    "quality": signals.pdq.quality,
                    "md5": signals.md5,
                    "sha256": signals.sha256,
                }
                if as_json:
                    typer.echo(json.dumps(record))
                else:
                    typer.echo("\t".join(str(v) for v in record.values()))
            files.advance(bar)
    if failed:
        raise typer.Exit(EXIT_ERROR)


@app.command()
def match(
    paths: FilesArgument,
    db: DbOption = None,
    as_json: JsonOption = False,
    jobs: JobsOption = None,
) -> None:
    """Match images against every enabled bank. Exit 0: no match, 1: a match, 2: an error."""
    matched = failed = False
    targets = _targets(paths)
    with runtime(db) as rt, files.progress(len(targets), "matching") as bar:
        hashed = hash_paths(
            targets,
            rt.limits,
            dihedral=True,
            jobs=jobs or default_jobs(),
            features=rt.matcher.wants_features(),
        )
        for path, signals in hashed:
            if isinstance(signals, str):
                files.warn(path, signals)
                failed = True
                files.advance(bar)
                continue
            result = rt.scanner.match(signals)
            matched = matched or bool(result.matches)
            found = [match_record(m) for m in result.matches]
            if as_json:
                typer.echo(json.dumps({"file": str(path), "matches": found}))
            elif found:
                for m in result.matches:
                    typer.echo(f"{path}\tMATCH\t{_match_text(m)}")
            else:
                typer.echo(f"{path}\tno match")
            files.advance(bar)
    if failed:
        raise typer.Exit(EXIT_ERROR)
    if matched:
        raise typer.Exit(EXIT_MATCH)


def _match_text(m: Match) -> str:
    text = f"bank={m.bank}\tentry={m.entry_id}\tsignal={m.signal.value}"
    if m.region is None:
        return f"{text}\tdistance={m.distance}"
    box = m.region.changed_box
    changed = "none" if box is None else ",".join(f"{v:.2f}" for v in box)
    return f"{text}\tscore={m.region.score}\tchanged={changed}"


@app.command()
def demo(
    db: Annotated[
        str, typer.Option("--db", help="Database for the demo bank (recreated each run).")
    ] = "sqlite:///./var/demo.db",
) -> None:
    """Bank the bundled sample photos and match edited copies of them; print a table."""
    try:
        ok = run_demo(db)
    except ShieldwallError as exc:
        raise fail(str(exc)) from None
    if not ok:
        raise typer.Exit(EXIT_ERROR)


# -- bank ----------------------------------------------------------------------------------------


@bank_app.command("create")
def bank_create(
    name: str,
    kind: Annotated[
        BankKind, typer.Option(help="What a match means to the policy.")
    ] = BankKind.KNOWN,
    threshold: Annotated[
        int, typer.Option(help="PDQ distance (0-63) that counts as a match.")
    ] = DEFAULT_PDQ_THRESHOLD,
    region_threshold: Annotated[
        int,
        typer.Option(
            help="Source banks: region score (agreeing keypoints, 8-256) that counts as a "
            "derived match; see bench/RESULTS.md for recall and false matches by value."
        ),
    ] = DEFAULT_REGION_THRESHOLD,
    scope: Annotated[
        str | None,
        typer.Option(help="Only scans with this scope use the bank (e.g. telegram:<chat id>)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Create a bank. Kind 'source' holds a person's public photos, so that fakes made from them
    are recognised (derived-fake detection); kind 'text' blocks usernames, links and phrases."""
    with runtime(db, load_index=False) as rt:
        bank = rt.curator.create_bank(
            name,
            kind,
            threshold,
            region_threshold=region_threshold,
            scope=scope,
            actor=cli_actor(),
        )
    extra = f", region threshold {bank.region_threshold}" if bank.kind is BankKind.SOURCE else ""
    typer.echo(
        f"created bank {bank.name} (kind {bank.kind.value}, threshold {bank.pdq_threshold}{extra})"
    )


@bank_app.command("update")
def bank_update(
    name: str,
    threshold: Annotated[
        int | None, typer.Option(help="New PDQ distance (0-63) that counts as a match.")
    ] = None,
    region_threshold: Annotated[
        int | None, typer.Option(help="New region score (8-256) for a derived match.")
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Match against this bank or not.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Change a bank's thresholds or switch it on or off (effective for the next match)."""
    if threshold is None and enabled is None and region_threshold is None:
        raise fail("nothing to change: give --threshold, --region-threshold, --enable or --disable")
    with runtime(db, load_index=False) as rt:
        bank = rt.curator.update_bank(
            name,
            enabled=enabled,
            pdq_threshold=threshold,
            region_threshold=region_threshold,
            actor=cli_actor(),
        )
    state = "enabled" if bank.enabled else "disabled"
    typer.echo(
        f"bank {bank.name}: threshold {bank.pdq_threshold}, "
        f"region threshold {bank.region_threshold}, {state}"
    )


@bank_app.command("list")
def bank_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List banks with their entry counts."""
    with runtime(db, load_index=False) as rt:
        for bank in rt.store.list_banks():
            counts = rt.store.count_entries(bank.name)
            record = {
                "name": bank.name,
                "kind": bank.kind.value,
                "enabled": bank.enabled,
                "threshold": bank.pdq_threshold,
                "region_threshold": bank.region_threshold,
                "origin": bank.origin,
                "scope": bank.scope,
                "entries": {status.value: n for status, n in counts.items()},
                "created_at": bank.created_at.isoformat(),
            }
            if as_json:
                typer.echo(json.dumps(record))
            else:
                active = record["entries"]["active"]  # type: ignore[index]
                region = (
                    f"\tregion_threshold={bank.region_threshold}"
                    if bank.kind is BankKind.SOURCE
                    else ""
                )
                typer.echo(
                    f"{bank.name}\t{bank.kind.value}\tthreshold={bank.pdq_threshold}{region}"
                    f"\t{'enabled' if bank.enabled else 'disabled'}\tactive={active}"
                )


@bank_app.command("add")
def bank_add(
    name: str,
    paths: FilesArgument,
    note: Annotated[str | None, typer.Option(help="Free text kept with each entry.")] = None,
    case: Annotated[str | None, typer.Option(help="Case reference (e.g. for withdrawals).")] = None,
    added_by: Annotated[str, typer.Option(help="Who adds these entries.")] = "cli",
    db: DbOption = None,
) -> None:
    """Hash images into a bank (the images are not stored); print one entry id per file.

    In a 'source' bank each photo also gets a region signature, and a photo with too little
    texture where fakes leave it intact (top and sides) is reported as weakly protected."""
    failed = False
    targets = _targets(paths)
    with runtime(db, load_index=False) as rt, files.progress(len(targets), "banking") as bar:
        bank = rt.store.get_bank(name)  # an unknown bank fails once, before any file is read
        for path in targets:
            try:
                entry = rt.curator.add_image(name, path.read_bytes(), added_by, note, case)
            except (OSError, ShieldwallError) as exc:
                files.warn(path, files.reason(exc))
                failed = True
            else:
                typer.echo(f"{entry.id}\t{path}")
                quality = next(
                    (s.quality for s in entry.signals if s.signal is SignalType.PDQ), None
                )
                if not pdq_matchable(quality):
                    sys.stderr.write(
                        f"warning: {path}: PDQ quality {quality} is under {MIN_PDQ_QUALITY} "
                        "(too flat to match reliably): only exact copies will match\n"
                    )
                if bank.kind is BankKind.SOURCE:
                    _warn_weak_region(path, entry)
            files.advance(bar)
    if failed:
        raise typer.Exit(EXIT_ERROR)


def _warn_weak_region(path: Path, entry: Entry) -> None:
    keypoints = next((s.quality or 0 for s in entry.signals if s.signal is SignalType.REGION), 0)
    if keypoints < MIN_KEYPOINTS:
        sys.stderr.write(
            f"warning: {path}: this photo cannot be protected well against derived fakes: "
            f"{keypoints} keypoints where a fake leaves it intact (top and sides), "
            f"{MIN_KEYPOINTS} needed; copies of the photo itself still match\n"
        )


@bank_app.command("add-hash")
def bank_add_hash(
    name: str,
    pdq: Annotated[str | None, typer.Option("--pdq", help="PDQ, 64 hex characters.")] = None,
    md5: Annotated[str | None, typer.Option("--md5", help="MD5, 32 hex characters.")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="SHA-256, 64 hex.")] = None,
    note: Annotated[str | None, typer.Option(help="Free text kept with the entry.")] = None,
    case: Annotated[str | None, typer.Option(help="Case reference.")] = None,
    added_by: Annotated[str, typer.Option(help="Who adds this entry.")] = "cli",
    db: DbOption = None,
) -> None:
    """Bank a hash computed elsewhere; print the entry id."""
    given = [
        (t, v)
        for t, v in ((SignalType.PDQ, pdq), (SignalType.MD5, md5), (SignalType.SHA256, sha256))
        if v
    ]
    if len(given) != 1:
        raise fail("give exactly one of --pdq, --md5, --sha256")
    signal, value = given[0]
    with runtime(db, load_index=False) as rt:
        entry = rt.curator.add_hash(name, signal, value, added_by, note, case)
    typer.echo(entry.id)


@bank_app.command("add-text")
def bank_add_text(
    name: str,
    patterns: Annotated[
        list[str],
        typer.Argument(help="Usernames (@name), links or phrases to block.", show_default=False),
    ],
    kind: Annotated[
        TextKind | None,
        typer.Option(help="Default: @name is a username, a URL a link, else a phrase."),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Free text kept with each entry.")] = None,
    added_by: Annotated[str, typer.Option(help="Who adds these entries.")] = "cli",
    db: DbOption = None,
) -> None:
    """Block text in a 'text' bank (e.g. nudify-bot names and links); print each entry id.
    Matching folds case, lookalike letters of other scripts and invisible characters."""
    failed = False
    with runtime(db, load_index=False) as rt:
        for pattern in patterns:
            try:
                entry = rt.curator.add_text(name, pattern, added_by, kind, note)
            except (EntryExistsError, InvalidArgumentError) as exc:
                sys.stderr.write(f"error: {exc}\n")
                failed = True
            else:
                typer.echo(f"{entry.id}\t{entry.signals[0].variant}\t{pattern}")
    if failed:
        raise typer.Exit(EXIT_ERROR)


@bank_app.command("withdraw")
def bank_withdraw(name: str, entry_id: int, db: DbOption = None) -> None:
    """Withdraw an entry: it stops matching at once (kept for the record, status 'withdrawn')."""
    with runtime(db, load_index=False) as rt:
        entry = rt.curator.withdraw(name, entry_id, cli_actor())
    typer.echo(f"withdrew entry {entry.id} from {name}")


@bank_app.command("export")
def bank_export(
    name: str,
    fmt: Annotated[
        BankFileFormat, typer.Option("--format", help="File format.")
    ] = BankFileFormat.CSV,
    variants: Annotated[
        bool,
        typer.Option(
            "--variants/--no-variants",
            help="Include crop and region hashes, or only each image's whole-image hashes.",
        ),
    ] = True,
    db: DbOption = None,
) -> None:
    """Write the bank's entries (hashes and metadata only) to stdout."""
    with runtime(db, load_index=False) as rt:
        rt.curator.export(name, sys.stdout, fmt, variants=variants)


@bank_app.command("import")
def bank_import(
    name: str,
    path: Annotated[Path, typer.Argument(help="A file written by 'bank export' ('-' = stdin).")],
    fmt: Annotated[
        BankFileFormat | None, typer.Option("--format", help="Default: from the file suffix.")
    ] = None,
    added_by: Annotated[
        str, typer.Option(help="Recorded for entries that name no one.")
    ] = "import",
    db: DbOption = None,
) -> None:
    """Import entries; all or nothing, and entries already in the bank are skipped."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: {files.reason(exc)}") from None
    chosen = fmt or (
        BankFileFormat.JSONL if path.suffix.lower() in (".jsonl", ".json") else BankFileFormat.CSV
    )
    with runtime(db, load_index=False) as rt:
        result = rt.curator.import_text(name, text, chosen, added_by)
    typer.echo(
        f"imported {result.added} entries into {name}, skipped {result.skipped} already there"
    )


def _targets(paths: list[Path]) -> list[Path]:
    targets = files.expand(paths)
    if not targets:
        raise fail("no image files in " + ", ".join(str(p) for p in paths))
    return targets


def main() -> None:
    app()
