"""A later DataWrangler's schema change, for the tests: a copy of the package's migration folder with one more
Alembic revision in it (real revision files, run by real Alembic), made this code's head for one test."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from datawrangler.store import migrations


def add_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upgrade: str, revision: str | None = None,
                 version: int | None = None) -> Path:
    """Make `revision` (by default v<N>, N one above the head's schema version; schema version `version`, by
    default one above the head) the head, its upgrade() body the source `upgrade` (with `op` and `sa`
    imported). Returns the script folder used."""
    down = migrations.head()
    revision = revision or f"v{migrations.head_version() + 1}"
    version = migrations.head_version() + 1 if version is None else version
    folder = tmp_path / "migrations"
    if not folder.exists():
        shutil.copytree(migrations.SCRIPT_LOCATION, folder, ignore=shutil.ignore_patterns("__pycache__"))
    body = textwrap.indent(textwrap.dedent(upgrade).strip(), "    ")
    (folder / "versions" / f"{revision}_test.py").write_text(
        f'"""A test\'s schema change."""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f"revision = {revision!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n{body}\n\n\ndef downgrade() -> None:\n    pass\n")
    monkeypatch.setattr(migrations, "SCRIPT_LOCATION", folder)
    monkeypatch.setattr(migrations, "REVISIONS", {**migrations.REVISIONS, revision: version})
    return folder
