"""Bringing an SQLite catalog file to this code's schema, for code that makes a catalog outside
store.db.open_catalog (store.export): `migrate(db, path)` and `refuse_unknown(path, version, stamped)`.

The procedure itself (store.schema's migrations to version 4, the stamp of Alembic's baseline, Alembic's later
revisions, a backup first, one transaction under the write lock) lives in store.db beside the errors it
raises: store.db importing this module and this module importing store.db's errors was an import cycle
(tests/test_layers.py). Import it from store.db in new code.
"""

from __future__ import annotations

from datawrangler.store.db import migrate, refuse_unknown

__all__ = ["migrate", "refuse_unknown"]
