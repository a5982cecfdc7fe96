"""The catalog's answer for importing a drive from another unit (handoff.verify.import_drive): which rolls
are already in the catalog as imported, so that importing a drive twice adds nothing."""

from __future__ import annotations

from datawrangler.store.catalog import Catalog


def imported_rolls(db: Catalog) -> set[str]:
    """The roll folders (as given to the import) of every destination recorded 'imported'."""
    return {r[0] for r in db.run("SELECT path FROM destinations WHERE state = 'imported'")}
