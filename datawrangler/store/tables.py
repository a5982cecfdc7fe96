"""The catalog's tables as SQLAlchemy Core metadata: schema version 6, for SQLite and PostgreSQL alike.

`store.schema` builds the SQLite catalog of versions 1 to 4 step by step (sqlite-utils), Alembic's revisions
(store/migrations) the later ones; this module says what the newest version is, once, in a form that serves
both backends: SQLAlchemy renders its DDL for either dialect and Alembic compares it with a live database and
writes the revisions that change it. A later schema change edits this module and adds an Alembic revision;
tests/store/test_tables.py and test_migrations.py prove that the history ends in exactly this metadata on both
backends, and that an SQLite catalog made by `store.schema` and migrated is the same catalog.

Types are chosen for both dialects at once:
- `ID` (keys and the columns that point at them) and `INT` are 64-bit on PostgreSQL (sizes, byte counts and
  `mtime_ns` exceed 32 bits) and plain INTEGER on SQLite, where only the type name "INTEGER" makes a primary
  key the rowid (and where every integer is 64-bit anyway).
- `REAL` (times as seconds since the epoch, durations) is double precision on PostgreSQL, whose REAL has 24
  bits of mantissa and would round a timestamp to minutes; SQLite's REAL is already 8 bytes.
- `TEXT` for words and for JSON documents (digests, plans, lists), as version 4 stores them; on PostgreSQL in
  the "C" collation (schema 6), so that text sorts by code point and `lower()` folds ASCII letters only, as on
  SQLite, whatever locale the server's database was created in.
The declared types on SQLite are exactly what `store.schema` declares (INTEGER, TEXT, REAL), so a catalog
made from this metadata and one migrated by `store.schema` cannot be told apart by SQLite.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeEngine

ID = BigInteger().with_variant(Integer(), "sqlite")
INT = BigInteger().with_variant(Integer(), "sqlite")
REAL: TypeEngine[float] = Double().with_variant(sqlite.REAL(), "sqlite")
TEXT = Text().with_variant(Text(collation="C"), "postgresql")

metadata = MetaData()


def _pk() -> Column[int]:
    return Column("id", ID, primary_key=True)


def _index(table: Table, *columns: str, unique: bool = False) -> Index:
    """An index named as sqlite-utils names it (idx_<table>_<columns>), so both schemas use one name."""
    return Index(f"idx_{table.name}_{'_'.join(columns)}", *(table.c[c] for c in columns), unique=unique)


volumes = Table(
    "volumes", metadata,
    _pk(),
    Column("key", TEXT, nullable=False),  # global identity: "uuid:<fs uuid>", else "dev:<host>:<device>"
    Column("disk", TEXT, nullable=False),  # the physical disk: redundancy counts these
    Column("fs_uuid", TEXT), Column("label", TEXT), Column("device", TEXT), Column("fstype", TEXT),
    Column("capacity", INT), Column("kind", TEXT, nullable=False),  # card / destination
    Column("host", TEXT), Column("last_mount_point", TEXT), Column("first_seen", REAL), Column("last_seen", REAL),
    # version 5: what the drive is (core.protection.MediaKind), for a rule that counts kinds of media; NULL: not said
    Column("media_kind", TEXT),
)
_index(volumes, "key", unique=True)

cards = Table(
    "cards", metadata,
    _pk(),
    Column("fingerprint", TEXT, nullable=False),  # core.cards.fingerprint
    Column("vendor", TEXT), Column("reel", TEXT), Column("label", TEXT),
    Column("lineage", INT),  # the first card of a card that went back into the camera
    Column("file_count", INT), Column("total_bytes", INT),
    Column("volume_id", ID, ForeignKey("volumes.id")), Column("first_seen", REAL),
)
_index(cards, "fingerprint", unique=True)
_index(cards, "reel")
_index(cards, "lineage")

offloads = Table(
    "offloads", metadata,
    _pk(),
    Column("uuid", TEXT, nullable=False),  # global id, for merging the catalogs of several stations
    Column("card_id", ID, ForeignKey("cards.id")),
    Column("project", TEXT), Column("reel", TEXT), Column("camera", TEXT),
    Column("source", TEXT, nullable=False), Column("roll_name", TEXT), Column("algorithms", TEXT),
    Column("verify_mode", TEXT),
    Column("plan", TEXT, nullable=False),  # JSON of every OffloadPlan field
    Column("operator", TEXT), Column("host", TEXT), Column("pid", INT), Column("start_token", TEXT),
    Column("app_version", TEXT),
    Column("started_at", REAL, nullable=False), Column("ended_at", REAL),
    Column("state", TEXT, nullable=False), Column("message", TEXT),
    Column("files_total", INT), Column("bytes_total", INT),
    Column("files_verified", INT), Column("files_failed", INT), Column("files_skipped", INT),
    Column("incremental_of", INT), Column("resumes", INT, server_default=text("0")),
    # version 2: the shooting day and location
    Column("shooting_day", INT), Column("location", TEXT),
    # version 4: the cascading copy (store.cascade)
    Column("stage", INT), Column("cascade_of", INT), Column("made_from", INT), Column("stage2", TEXT),
    Column("released_at", REAL),
    # version 5: the station that made the offload (its name, default the host name) and the station's site at
    # the time (a station moves): a rule that counts places reads it
    Column("station", TEXT), Column("site", TEXT),
)
_index(offloads, "uuid", unique=True)
_index(offloads, "card_id")
_index(offloads, "started_at")
_index(offloads, "state")
_index(offloads, "cascade_of")

destinations = Table(
    "destinations", metadata,
    _pk(),
    Column("offload_id", ID, ForeignKey("offloads.id"), nullable=False),
    Column("idx", INT, nullable=False),  # index into the plan's destinations
    Column("path", TEXT, nullable=False),  # the roll folder
    Column("mount_point", TEXT),
    Column("volume_id", ID, ForeignKey("volumes.id")),
    Column("state", TEXT), Column("files_ok", INT), Column("files_failed", INT), Column("code", TEXT),
    Column("message", TEXT),
)
_index(destinations, "offload_id", "idx", unique=True)
_index(destinations, "volume_id")
_index(destinations, "path")

files = Table(
    "files", metadata,
    _pk(),
    Column("offload_id", ID, ForeignKey("offloads.id"), nullable=False),
    Column("rel_path", TEXT, nullable=False), Column("size", INT, nullable=False),
    Column("mtime_ns", INT, nullable=False),
    Column("digests", TEXT),  # JSON {algorithm: hex}, taken while reading the card
    Column("status", TEXT, nullable=False),
    Column("code", TEXT), Column("message", TEXT), Column("source_reverified", INT),
)
_index(files, "offload_id", "rel_path", unique=True)

copies = Table(
    "copies", metadata,
    _pk(),
    Column("file_id", ID, ForeignKey("files.id"), nullable=False),
    Column("destination_id", ID, ForeignKey("destinations.id"), nullable=False),
    Column("state", TEXT, nullable=False),
    Column("digests", TEXT),  # JSON, read back from the destination
    Column("code", TEXT), Column("message", TEXT), Column("already_present", INT), Column("attempts", INT),
    Column("verified_at", REAL), Column("cache_bypassed", INT),
)
_index(copies, "file_id", "destination_id", unique=True)
_index(copies, "destination_id")

verifications = Table(
    "verifications", metadata,
    _pk(),
    Column("copy_id", ID, ForeignKey("copies.id"), nullable=False),
    Column("at", REAL, nullable=False), Column("method", TEXT, nullable=False),
    Column("cache_bypassed", INT), Column("digests", TEXT),
    Column("result", TEXT, nullable=False), Column("code", TEXT), Column("message", TEXT),
)
_index(verifications, "copy_id")

events = Table(
    "events", metadata,
    _pk(),
    Column("at", REAL, nullable=False), Column("offload_id", INT), Column("kind", TEXT, nullable=False),
    Column("code", TEXT), Column("message", TEXT), Column("data", TEXT),
)
_index(events, "offload_id")

clips = Table(
    "clips", metadata,
    _pk(),
    Column("offload_id", ID, ForeignKey("offloads.id"), nullable=False),
    Column("name", TEXT, nullable=False), Column("kind", TEXT, nullable=False),
    Column("state", TEXT, nullable=False), Column("problems", TEXT),
    Column("files", INT), Column("bytes", INT), Column("first_frame", INT), Column("last_frame", INT),
    Column("gaps", TEXT), Column("container", TEXT), Column("codec", TEXT), Column("width", INT),
    Column("height", INT), Column("fps", TEXT), Column("duration", REAL), Column("frames", INT),
    Column("tc_in", TEXT), Column("tc_out", TEXT), Column("reel", TEXT), Column("camera", TEXT),
    Column("audio_channels", INT), Column("sample_rate", INT), Column("bit_depth", INT),
    Column("scene", TEXT), Column("take", TEXT), Column("tape", TEXT), Column("tracks", TEXT),
    Column("extra", TEXT), Column("thumbnails", TEXT),
    Column("read_from", ID, ForeignKey("destinations.id")),  # the destination whose verified copy was read
    Column("read_at", REAL),
)
_index(clips, "offload_id", "name")

clip_files = Table(
    "clip_files", metadata,
    Column("clip_id", ID, ForeignKey("clips.id"), nullable=False),
    Column("file_id", ID, ForeignKey("files.id"), primary_key=True, autoincrement=False),
)
_index(clip_files, "clip_id")
