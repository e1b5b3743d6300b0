"""Hashing many files for the CLI, in worker processes when there are enough of them.

Hashing is pure and CPU-bound (decode + PDQ), so a folder of thousands of photos is spread over
processes; matching stays in the parent, which holds the index. Results come back in file order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from shieldwall.adapters.cli.files import reason
from shieldwall.domain import ShieldwallError
from shieldwall.media import DecodeLimits
from shieldwall.signals import ImageSignals, compute_signals

#: Fewer files than this are hashed in-process: starting workers would cost more than it saves.
MIN_FILES_FOR_WORKERS = 16


def default_jobs() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _hash_one(task: tuple[Path, DecodeLimits, bool, bool]) -> ImageSignals | str:
    path, limits, dihedral, features = task
    try:
        return compute_signals(path.read_bytes(), limits, dihedral=dihedral, features=features)
    except (OSError, ShieldwallError) as exc:
        return reason(exc)


def hash_paths(
    paths: list[Path],
    limits: DecodeLimits,
    *,
    dihedral: bool,
    jobs: int,
    features: bool = False,
) -> Iterator[tuple[Path, ImageSignals | str]]:
    """Each path with its signals, or with the reason it could not be hashed. ``features`` adds
    the keypoints that derived-fake search needs."""
    tasks = [(path, limits, dihedral, features) for path in paths]
    if jobs <= 1 or len(paths) < MIN_FILES_FOR_WORKERS:
        for task in tasks:
            yield task[0], _hash_one(task)
        return
    with ProcessPoolExecutor(jobs) as pool:
        yield from zip(paths, pool.map(_hash_one, tasks, chunksize=4), strict=True)
