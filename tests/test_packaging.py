"""The wheel ships every subpackage and the top-level resources/ as datawrangler.resources."""

from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "datawrangler").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found | {"datawrangler.resources"} == listed


def test_resources_load_through_importlib() -> None:
    files = importlib.resources.files("datawrangler.resources")
    assert (files / "README.md").read_text(encoding="utf-8").startswith("Runtime assets")
