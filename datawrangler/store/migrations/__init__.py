"""The catalog's migration history from schema version 4 on: Alembic revisions that serve SQLite and PostgreSQL.

Versions 1 to 4 of an SQLite catalog are `store.schema`'s migrations (sqlite-utils, a backup first); version 4
is also Alembic's baseline revision (`BASELINE`, which creates schema 4 from nothing: an empty PostgreSQL
database). A catalog that reaches version 4 is stamped with it (the `alembic_version` table), and every later
schema change is an Alembic revision in `versions/`, run on either backend.

This module is what every catalog open reads, so it imports nothing heavy: the revision ids, which one is the
head, and the schema version each brings a catalog to (an SQLite catalog keeps `PRAGMA user_version` in step:
an older DataWrangler, which knows nothing of Alembic, refuses a newer catalog by it). Running Alembic lives in
`store.migrations.run`, imported only when a catalog must be created on a server or migrated.

Adding a revision (a developer's step; users never need an alembic.ini):

    python -m datawrangler.store.migrations revision -m "what it changes"

writes `versions/v<N>_<slug>.py` with a diff of `store.tables` against a scratch catalog at the head; then
add its id to `REVISIONS` with its schema version. tests/store/test_migrations.py fails until both agree.
"""

from __future__ import annotations

from pathlib import Path

# Alembic's script folder: env.py, script.py.mako and versions/ beside this file (in the wheel and the bundle).
SCRIPT_LOCATION = Path(__file__).resolve().parent

# Every revision, oldest first, with the schema version (PRAGMA user_version on SQLite) it brings a catalog to.
REVISIONS: dict[str, int] = {
    "v4": 4,  # baseline: schema 4 (volumes, cards, offloads, destinations, files, copies, verifications,
    # events, clips, clip_files), what store.schema's migrations 1 to 4 make of an SQLite catalog
    "v5": 5,  # volumes.media_kind, offloads.station and offloads.site: a studio's rule (3-2-1) per station
    "v6": 6,  # PostgreSQL: every text column in the "C" collation (code point order, ASCII case), as SQLite
}
BASELINE = "v4"
BASELINE_VERSION = REVISIONS[BASELINE]
VERSION_TABLE = "alembic_version"


def head() -> str:
    """The newest revision this code knows."""
    return next(reversed(REVISIONS))


def head_version() -> int:
    """The schema version of the newest revision: what this code writes."""
    return REVISIONS[head()]


def known(revision: str) -> bool:
    """Whether this code knows the revision (an unknown one was written by a newer DataWrangler)."""
    return revision in REVISIONS


def too_new(path_or_url: str, revision: str) -> str:
    """The refusal of a catalog whose revision this code does not know: what happened and what to do."""
    return (f"The catalog {path_or_url} was written by a newer DataWrangler (schema revision {revision!r}; this "
            f"version knows up to {head()!r}, schema version {head_version()}). Update DataWrangler on this "
            "computer, or choose another catalog. The catalog was left untouched.")
