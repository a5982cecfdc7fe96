"""Baseline: schema version 4 from nothing (an empty PostgreSQL database, or a new catalog made by Alembic).

Revision ID: v4
Revises:
Create Date: 2026-12-04

Frozen: written from store.tables as it was at version 4 and never changed with it (a later schema change is
a later revision), so running the history from here always ends in store.tables; tests/store/
test_migrations.py proves it on SQLite and PostgreSQL, and that on SQLite it makes what store.schema's
migrations 1 to 4 make. An SQLite catalog brought to version 4 by store.schema is stamped with this revision
instead of running it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "v4"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# the types of store.tables at version 4: 64-bit integers and doubles on PostgreSQL; on SQLite the names
# store.schema declares (INTEGER makes a primary key the rowid)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REAL: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
TEXT = sa.Text()


def _col(name: str, type_: sa.types.TypeEngine[Any], nullable: bool = True, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=nullable, **kw)


def _id() -> sa.Column[Any]:
    return sa.Column("id", ID, primary_key=True)


def _ref(name: str, target: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, ID, sa.ForeignKey(target), nullable=nullable)


def _texts(*names: str) -> list[sa.Column[Any]]:
    return [sa.Column(n, TEXT) for n in names]


def _ints(*names: str) -> list[sa.Column[Any]]:
    return [sa.Column(n, INT) for n in names]


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(f"idx_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "volumes", _id(), _col("key", TEXT, nullable=False), _col("disk", TEXT, nullable=False),
        *_texts("fs_uuid", "label", "device", "fstype"), _col("capacity", INT), _col("kind", TEXT, nullable=False),
        *_texts("host", "last_mount_point"), _col("first_seen", REAL), _col("last_seen", REAL))
    _index("volumes", "key", unique=True)

    op.create_table(
        "cards", _id(), _col("fingerprint", TEXT, nullable=False), *_texts("vendor", "reel", "label"),
        *_ints("lineage", "file_count", "total_bytes"), _ref("volume_id", "volumes.id"), _col("first_seen", REAL))
    _index("cards", "fingerprint", unique=True)
    _index("cards", "reel")
    _index("cards", "lineage")

    op.create_table(
        "offloads", _id(), _col("uuid", TEXT, nullable=False), _ref("card_id", "cards.id"),
        *_texts("project", "reel", "camera"), _col("source", TEXT, nullable=False),
        *_texts("roll_name", "algorithms", "verify_mode"), _col("plan", TEXT, nullable=False),
        *_texts("operator", "host"), _col("pid", INT), *_texts("start_token", "app_version"),
        _col("started_at", REAL, nullable=False), _col("ended_at", REAL), _col("state", TEXT, nullable=False),
        _col("message", TEXT), *_ints("files_total", "bytes_total", "files_verified", "files_failed",
                                      "files_skipped", "incremental_of"),
        _col("resumes", INT, server_default=sa.text("0")),
        _col("shooting_day", INT), _col("location", TEXT),
        *_ints("stage", "cascade_of", "made_from"), _col("stage2", TEXT), _col("released_at", REAL))
    for columns in (("uuid",), ("card_id",), ("started_at",), ("state",), ("cascade_of",)):
        _index("offloads", *columns, unique=columns == ("uuid",))

    op.create_table(
        "destinations", _id(), _ref("offload_id", "offloads.id", nullable=False),
        _col("idx", INT, nullable=False), _col("path", TEXT, nullable=False), _col("mount_point", TEXT),
        _ref("volume_id", "volumes.id"), _col("state", TEXT), *_ints("files_ok", "files_failed"),
        *_texts("code", "message"))
    _index("destinations", "offload_id", "idx", unique=True)
    _index("destinations", "volume_id")
    _index("destinations", "path")

    op.create_table(
        "files", _id(), _ref("offload_id", "offloads.id", nullable=False), _col("rel_path", TEXT, nullable=False),
        _col("size", INT, nullable=False), _col("mtime_ns", INT, nullable=False), _col("digests", TEXT),
        _col("status", TEXT, nullable=False), *_texts("code", "message"), _col("source_reverified", INT))
    _index("files", "offload_id", "rel_path", unique=True)

    op.create_table(
        "copies", _id(), _ref("file_id", "files.id", nullable=False),
        _ref("destination_id", "destinations.id", nullable=False), _col("state", TEXT, nullable=False),
        *_texts("digests", "code", "message"), *_ints("already_present", "attempts"), _col("verified_at", REAL),
        _col("cache_bypassed", INT))
    _index("copies", "file_id", "destination_id", unique=True)
    _index("copies", "destination_id")

    op.create_table(
        "verifications", _id(), _ref("copy_id", "copies.id", nullable=False), _col("at", REAL, nullable=False),
        _col("method", TEXT, nullable=False), _col("cache_bypassed", INT), _col("digests", TEXT),
        _col("result", TEXT, nullable=False), *_texts("code", "message"))
    _index("verifications", "copy_id")

    op.create_table(
        "events", _id(), _col("at", REAL, nullable=False), _col("offload_id", INT),
        _col("kind", TEXT, nullable=False), *_texts("code", "message", "data"))
    _index("events", "offload_id")

    op.create_table(
        "clips", _id(), _ref("offload_id", "offloads.id", nullable=False), _col("name", TEXT, nullable=False),
        _col("kind", TEXT, nullable=False), _col("state", TEXT, nullable=False), _col("problems", TEXT),
        *_ints("files", "bytes", "first_frame", "last_frame"), *_texts("gaps", "container", "codec"),
        *_ints("width", "height"), _col("fps", TEXT), _col("duration", REAL), _col("frames", INT),
        *_texts("tc_in", "tc_out", "reel", "camera"), *_ints("audio_channels", "sample_rate", "bit_depth"),
        *_texts("scene", "take", "tape", "tracks", "extra", "thumbnails"), _ref("read_from", "destinations.id"),
        _col("read_at", REAL))
    _index("clips", "offload_id", "name")

    op.create_table(
        "clip_files", _ref("clip_id", "clips.id", nullable=False),
        sa.Column("file_id", ID, sa.ForeignKey("files.id"), primary_key=True, autoincrement=False))
    _index("clip_files", "clip_id")


def downgrade() -> None:
    for table in ("clip_files", "clips", "events", "verifications", "copies", "files", "destinations",
                  "offloads", "cards", "volumes"):
        op.drop_table(table)
