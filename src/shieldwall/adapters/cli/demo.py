"""The quick-start demo: bank the bundled sample photos, then match edited copies of them.

Runs on its own SQLite file under ./var (recreated each run), prints a table of what matched at
which PDQ distance, and returns False if any copy was missed or any unrelated photo matched.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

from PIL import Image
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from shieldwall.domain import BankKind, SignalType
from shieldwall.engine import open_runtime
from shieldwall.media import copies

DEMO_EDITS = {
    "re-encoded": lambda image: image,
    "flipped": copies.flip_horizontal,
    "rotated 90°": copies.rotate90,
    "letterboxed": copies.letterbox,
    "screenshot": copies.screenshot,
    "cropped 10%": copies.anchored_crop(0.10, seed=7),
    "captioned": copies.caption,
}


def sample_photos() -> list[tuple[str, bytes]]:
    folder = resources.files("shieldwall") / "samples"
    return sorted(
        (item.name, item.read_bytes()) for item in folder.iterdir() if item.name.endswith(".jpg")
    )


def run_demo(database_url: str, console: Console | None = None) -> bool:
    console = console or Console()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).unlink(missing_ok=True)  # the demo bank starts empty every run
    runtime = open_runtime(database_url)
    try:
        samples = sample_photos()
        banked, held_out = samples[:-1], samples[-1]
        runtime.curator.create_bank("demo-known", BankKind.KNOWN)
        entry_of: dict[str, int] = {}
        for name, data in banked:
            entry_of[name] = runtime.curator.add_image("demo-known", data, "demo").id
        console.print(
            f"Banked {len(banked)} sample photos in 'demo-known' ({database_url}); "
            f"'{held_out[0]}' is held out as an unrelated photo. No image is stored, only hashes. "
            "Each copy below is edited, then re-encoded as Telegram does (1280 px, JPEG q80); "
            "d is the PDQ distance to the banked original, in bits of 256."
        )
        table = Table(title="Edited copies matched against the bank (PDQ threshold 31)")
        table.add_column("copy")
        for name, _ in samples:
            label = name.removesuffix(".jpg").replace("-", " ")  # wraps instead of truncating
            table.add_column(label if name in entry_of else f"{label} (not banked)")
        originals = {name: Image.open(io.BytesIO(data)).convert("RGB") for name, data in samples}
        all_good = True
        for edit_name, make_copy in DEMO_EDITS.items():
            cells = []
            for name, original in originals.items():
                copy = copies.telegram_reencode(make_copy(original))
                matches = runtime.scanner.scan(copy).matches
                pdq = [m for m in matches if m.signal is SignalType.PDQ]
                expected = entry_of.get(name)
                if expected is None:
                    good = not matches
                    cells.append("[green]no match[/]" if good else "[red]FALSE MATCH[/]")
                else:
                    hit = [m for m in pdq if m.entry_id == expected]
                    good = bool(hit) and len(pdq) == len(hit)
                    cells.append(f"[green]d={hit[0].distance}[/]" if good else "[red]missed[/]")
                all_good = all_good and good
            table.add_row(edit_name, *cells)
        console.print(table)
        console.print(
            "All copies matched, nothing else did." if all_good else "[red]Demo failed.[/]"
        )
        return all_good
    finally:
        runtime.close()
