"""The SQLite catalog's schema versions 1 to 4 and their migrations.

`PRAGMA user_version` holds the schema version. `MIGRATIONS[i]` takes a catalog from version i to i+1.
Migrations run in one transaction each, after a backup of the file (see `db.open_catalog`).

The list ends at version 4, Alembic's baseline (`store.migrations`): a catalog that reaches it is stamped
with the baseline revision, and every later version is an Alembic revision that serves SQLite and PostgreSQL
alike (`store.tables` describes the current schema). Nothing is appended here any more.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from datawrangler.store import migrations

# the tables every version has; the check that a file is a DataWrangler catalog at all
CORE_TABLES = ("volumes", "cards", "offloads", "destinations", "files", "copies", "verifications", "events")


def _v1(db: Database) -> None:
    """The first schema: volumes, cards, offloads, destinations, files, copies, verifications, events."""
    db.table("volumes").create({
        "id": int,
        "key": str,  # global identity: "uuid:<fs uuid>" where the OS gives one, else "dev:<host>:<device>"
        "disk": str,  # the physical disk (partitions of one disk share it): redundancy counts these
        "fs_uuid": str, "label": str, "device": str, "fstype": str,
        "capacity": int, "kind": str,  # card / destination
        "host": str, "last_mount_point": str, "first_seen": float, "last_seen": float,
    }, pk="id", not_null={"key", "disk", "kind"})
    db.table("volumes").create_index(["key"], unique=True)
    db.table("cards").create({
        "id": int,
        "fingerprint": str,  # core.cards.fingerprint: sha256 of the sorted (path, size, mtime) listing
        "vendor": str, "reel": str, "label": str,
        "lineage": int,  # the first card of a card that went back into the camera (itself for a new card)
        "file_count": int, "total_bytes": int,
        "volume_id": int, "first_seen": float,
    }, pk="id", not_null={"fingerprint"}, foreign_keys=[("volume_id", "volumes", "id")])
    db.table("cards").create_index(["fingerprint"], unique=True)
    db.table("cards").create_index(["reel"])
    db.table("cards").create_index(["lineage"])
    db.table("offloads").create({
        "id": int,
        "uuid": str,  # global id, for merging catalogs of several stations
        "card_id": int, "project": str, "reel": str, "camera": str,
        "source": str, "roll_name": str, "algorithms": str, "verify_mode": str,
        "plan": str,  # JSON of every OffloadPlan field: a resume rebuilds the plan from it
        "operator": str, "host": str, "pid": int, "start_token": str, "app_version": str,
        "started_at": float, "ended_at": float,
        "state": str,  # running / verified / copied (not verified) / completed with errors / interrupted / cancelled
        "message": str, "files_total": int, "bytes_total": int,
        "files_verified": int, "files_failed": int, "files_skipped": int,
        "incremental_of": int, "resumes": int,
    }, pk="id", not_null={"uuid", "source", "plan", "state", "started_at"},
        defaults={"resumes": 0}, foreign_keys=[("card_id", "cards", "id")])
    db.table("offloads").create_index(["uuid"], unique=True)
    db.table("offloads").create_index(["card_id"])
    db.table("offloads").create_index(["started_at"])
    db.table("offloads").create_index(["state"])
    db.table("destinations").create({
        "id": int, "offload_id": int,
        "idx": int,  # index into the plan's destinations
        "path": str,  # the roll folder
        "mount_point": str,  # of its volume at the time: a re-verify finds the roll on a drive mounted elsewhere
        "volume_id": int, "state": str, "files_ok": int, "files_failed": int, "code": str, "message": str,
    }, pk="id", not_null={"offload_id", "idx", "path"},
        foreign_keys=[("offload_id", "offloads", "id"), ("volume_id", "volumes", "id")])
    db.table("destinations").create_index(["offload_id", "idx"], unique=True)
    db.table("destinations").create_index(["volume_id"])
    db.table("destinations").create_index(["path"])
    db.table("files").create({
        "id": int, "offload_id": int,
        "rel_path": str, "size": int, "mtime_ns": int,
        "digests": str,  # JSON {algorithm: hex}, taken while reading the card
        "status": str,  # pending / verified / copied / failed
        "code": str, "message": str, "source_reverified": int,
    }, pk="id", not_null={"offload_id", "rel_path", "size", "mtime_ns", "status"},
        foreign_keys=[("offload_id", "offloads", "id")])
    db.table("files").create_index(["offload_id", "rel_path"], unique=True)
    db.table("copies").create({
        "id": int, "file_id": int, "destination_id": int,
        "state": str,  # verified / copied / failed; stale (the card's file changed since); missing / changed /
        # unreadable (a re-verify found it so). The current word: its history is in verifications
        "digests": str,  # JSON, read back from the destination
        "code": str, "message": str, "already_present": int, "attempts": int,
        "verified_at": float, "cache_bypassed": int,
    }, pk="id", not_null={"file_id", "destination_id", "state"},
        foreign_keys=[("file_id", "files", "id"), ("destination_id", "destinations", "id")])
    db.table("copies").create_index(["file_id", "destination_id"], unique=True)
    db.table("copies").create_index(["destination_id"])
    db.table("verifications").create({
        "id": int, "copy_id": int, "at": float,
        "method": str,  # offload-readback / already-present / reverify / size-only
        "cache_bypassed": int, "digests": str,
        "result": str,  # verified / copied / failed / missing / changed
        "code": str, "message": str,
    }, pk="id", not_null={"copy_id", "at", "method", "result"}, foreign_keys=[("copy_id", "copies", "id")])
    db.table("verifications").create_index(["copy_id"])
    db.table("events").create({
        "id": int, "at": float, "offload_id": int, "kind": str, "code": str, "message": str,
        "data": str,  # JSON
    }, pk="id", not_null={"at", "kind"})
    db.table("events").create_index(["offload_id"])


def _v2(db: Database) -> None:
    """The shooting day and the location of each offload, so a report made later still prints them.
    NULL for the offloads of version 1: nothing recorded them."""
    db.table("offloads").add_column("shooting_day", int)
    db.table("offloads").add_column("location", str)


def _v3(db: Database) -> None:
    """Clips: what each clip of an offload is (read from a verified copy by `datawrangler.media`), linked to
    its files. Read after the copies are verified; an offload of version 2 has none until `datawrangler
    clips read` reads them."""
    db.table("clips").create({
        "id": int, "offload_id": int,
        "name": str, "kind": str,  # core.clips.ClipKind
        "state": str,  # core.clips.ClipState: read / not read / possibly damaged / unavailable
        "problems": str,  # JSON list of sentences
        "files": int, "bytes": int,
        "first_frame": int, "last_frame": int,  # a sequence's frame range
        "gaps": str,  # JSON [[first missing, last missing], ...]
        "container": str, "codec": str, "width": int, "height": int,
        "fps": str,  # a rational as text: 24000/1001
        "duration": float, "frames": int, "tc_in": str, "tc_out": str, "reel": str, "camera": str,
        "audio_channels": int, "sample_rate": int, "bit_depth": int,
        "scene": str, "take": str, "tape": str, "tracks": str,  # tracks: JSON list
        "extra": str,  # JSON {name: value} from sidecars
        "thumbnails": str,  # JSON list of JPEG paths relative to the thumbnails folder beside the catalog
        "read_from": int,  # the destination whose verified copy was read
        "read_at": float,
    }, pk="id", not_null={"offload_id", "name", "kind", "state"},
        foreign_keys=[("offload_id", "offloads", "id"), ("read_from", "destinations", "id")])
    db.table("clips").create_index(["offload_id", "name"])
    db.table("clip_files").create({"clip_id": int, "file_id": int}, pk="file_id", not_null={"clip_id"},
                                  foreign_keys=[("clip_id", "clips", "id"), ("file_id", "files", "id")])
    db.table("clip_files").create_index(["clip_id"])


def _v4(db: Database) -> None:
    """Cascading copy: a stage-2 offload copies a card's verified stage-1 copy to more drives (store.cascade).
    On a stage-2 offload: `stage` 2, `cascade_of` the stage-1 offload, `made_from` the destination (of the
    stage-1 offload) whose copy it reads. On a stage-1 offload: `stage2` the stage-2 roots asked for (JSON
    list), `released_at` when stage 1 ended verified and the card could leave the reader. NULL (stage 1, no
    cascade) for the offloads of version 3."""
    offloads = db.table("offloads")
    offloads.add_column("stage", int)
    offloads.add_column("cascade_of", int)
    offloads.add_column("made_from", int)
    offloads.add_column("stage2", str)
    offloads.add_column("released_at", float)
    offloads.create_index(["cascade_of"])


Migration = Callable[[Database], None]
MIGRATIONS: list[Migration] = [_v1, _v2, _v3, _v4]


def schema_version() -> int:
    """The version this code writes: the Alembic head's. A shorter MIGRATIONS (how the tests play an older
    DataWrangler, which knew nothing of Alembic) writes its own length."""
    legacy = len(MIGRATIONS)
    if legacy < migrations.BASELINE_VERSION:
        return legacy
    if legacy > migrations.BASELINE_VERSION:
        raise RuntimeError(f"store.schema.MIGRATIONS ends at version {migrations.BASELINE_VERSION}, the Alembic "
                           "baseline; a later schema change is an Alembic revision (store/migrations/versions)")
    return migrations.head_version()
