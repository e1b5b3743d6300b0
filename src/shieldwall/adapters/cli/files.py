"""File arguments: folders expand to the images inside; progress shows only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".mpo"}
)

stderr = Console(stderr=True)


def expand(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders replaced by the image files under them, sorted. An empty result
    (only empty folders) is the caller's to refuse."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            files.append(path)
    return files


@contextmanager
def progress(total: int, label: str) -> Iterator[Progress | None]:
    """A progress bar on stderr when it is a terminal and the work is worth one; else None."""
    if total < 2 or not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )
    with bar:
        bar.add_task(label, total=total)
        yield bar


def advance(bar: Progress | None) -> None:
    if bar is not None:
        bar.advance(bar.task_ids[0])


def reason(exc: BaseException) -> str:
    """What to tell the user about a file that failed: the OS's words, or our error's."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def warn(path: Path, message: str) -> None:
    """One line on stderr for a file that failed; the run goes on."""
    sys.stderr.write(f"error: {path}: {message}\n")
