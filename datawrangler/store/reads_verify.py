"""The catalog's answer for importing a drive from another unit (handoff.verify.import_drive): which rolls
are already in the catalog as imported, so that importing a drive twice adds nothing."""

from __future__ import annotations

from sqlite_utils import Database


def imported_rolls(db: Database) -> set[str]:
    """The roll folders (as given to the import) of every destination recorded 'imported'."""
    return {r[0] for r in db.conn.execute("SELECT path FROM destinations WHERE state = 'imported'")}
