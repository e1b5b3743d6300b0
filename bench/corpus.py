"""The benchmark corpus: benign photos read from ../shared/data/photos (or SHIELDWALL_BENCH_PHOTOS),
upscaled to 12 MP JPEGs once and cached under bench/.cache (git-ignored)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
TWELVE_MP = 12_000_000


def photos_folder() -> Path:
    folder = Path(
        os.environ.get("SHIELDWALL_BENCH_PHOTOS", ROOT.parent / "shared" / "data" / "photos")
    )
    if not folder.is_dir():
        raise SystemExit(f"no photo corpus at {folder}; set SHIELDWALL_BENCH_PHOTOS")
    return folder


def corpus(limit: int | None = None) -> list[Path]:
    files = sorted(photos_folder().glob("*.jpg"))
    return files[:limit] if limit else files


def twelve_mp(source: Path) -> Path:
    """The photo upscaled (Lanczos) to about 12 MP, JPEG quality 92; made once, then cached."""
    target = CACHE / "12mp" / source.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(source) as image:
            rgb = image.convert("RGB")
            scale = math.sqrt(TWELVE_MP / (rgb.width * rgb.height))
            big = rgb.resize(
                (round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS
            )
            tmp = target.with_suffix(".tmp")
            big.save(tmp, "JPEG", quality=92)
            tmp.replace(target)
    return target
