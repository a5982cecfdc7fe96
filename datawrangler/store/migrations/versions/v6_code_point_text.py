"""Schema 6: on PostgreSQL every text column compares, sorts and folds case in the "C" collation, as SQLite's
do, whatever locale the server's database was created in.

Revision ID: v6
Revises: v5
Create Date: 2026-12-04

A database created in a linguistic locale (en_US.UTF-8 is the default of the official server images, or an
ICU locale) sorted `ORDER BY rel_path` in dictionary order and lowered non-ASCII letters in `lower()`, so a
page of an offload's files held other files on a server than in a file catalog, and History's filters found
other offloads (tests/store/test_reads_differences.py). SQLite compares text by its bytes (code point order)
and lowers ASCII letters only; "C" does exactly that. Nothing changes on SQLite. On PostgreSQL the column type
stays TEXT (no table is rewritten); the indexes on the columns are rebuilt.

Frozen: the text columns of schema 5, listed here, not read from store.tables (a later column is declared
with the collation by store.tables itself).
"""

from __future__ import annotations

from alembic import op

revision: str = "v6"
down_revision: str | None = "v5"
branch_labels: str | None = None
depends_on: str | None = None

TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "volumes": ("key", "disk", "fs_uuid", "label", "device", "fstype", "kind", "host", "last_mount_point",
                "media_kind"),
    "cards": ("fingerprint", "vendor", "reel", "label"),
    "offloads": ("uuid", "project", "reel", "camera", "source", "roll_name", "algorithms", "verify_mode", "plan",
                 "operator", "host", "start_token", "app_version", "state", "message", "location", "stage2",
                 "station", "site"),
    "destinations": ("path", "mount_point", "state", "code", "message"),
    "files": ("rel_path", "digests", "status", "code", "message"),
    "copies": ("state", "digests", "code", "message"),
    "verifications": ("method", "digests", "result", "code", "message"),
    "events": ("kind", "code", "message", "data"),
    "clips": ("name", "kind", "state", "problems", "gaps", "container", "codec", "fps", "tc_in", "tc_out", "reel",
              "camera", "scene", "take", "tape", "tracks", "extra", "thumbnails"),
}


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in TEXT_COLUMNS.items():
        changes = ", ".join(f'ALTER COLUMN "{c}" TYPE TEXT COLLATE "{collation}"' for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
