"""Layering rules from DESIGN.md, the settings documentation, and complete export lists."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import shieldwall
from shieldwall.settings import Settings

PACKAGE = Path(shieldwall.__file__).parent
FRAMEWORKS = {"fastapi", "starlette", "aiogram", "typer", "click", "jinja2", "rich", "uvicorn"}
#: Which of our layers each layer may import (besides itself).
ALLOWED = {
    "domain": set(),
    "media": {"domain"},
    "signals": {"domain", "media"},
    "index": {"domain"},
    "storage": {"domain"},
    "exchange": {"domain"},
    "classifiers": {"domain", "media"},
    "actions": {"domain", "storage"},
    "engine": {
        "domain",
        "media",
        "signals",
        "index",
        "storage",
        "exchange",
        "classifiers",
        "actions",
    },
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports(layer: str) -> None:
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top not in FRAMEWORKS, f"{path} imports framework {name}"
            if top == "shieldwall":
                parts = name.split(".")
                target = parts[1] if len(parts) > 1 else ""
                assert target in ALLOWED[layer] | {layer}, f"{path} imports {name}"


def test_nothing_imports_adapters() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "adapters" in path.parts or path.name == "__main__.py":  # the entry point runs the CLI
            continue
        assert not any(n.startswith("shieldwall.adapters") for n in imports_of(path)), path


def test_every_setting_has_help_and_is_documented() -> None:
    readme = (PACKAGE.parents[1] / "README.md").read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no help line"
        assert f"SHIELDWALL_{name.upper()}" in readme, f"README does not document {name}"


def test_export_lists_are_complete() -> None:
    for module_info in pkgutil.walk_packages(shieldwall.__path__, "shieldwall."):
        module = importlib.import_module(module_info.name)
        exported = getattr(module, "__all__", None)
        if exported is None or not module_info.ispkg:
            continue
        for name in exported:
            assert hasattr(module, name), f"{module_info.name}.__all__ names missing {name}"
        public = {
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and getattr(v, "__module__", "").startswith(module_info.name + ".")
        }
        assert public <= set(exported), (
            f"{module_info.name} does not export {public - set(exported)}"
        )
