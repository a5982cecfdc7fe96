"""The catalog's errors, whichever backend holds it (both backends and every layer above `store` name them)."""

from __future__ import annotations


class CatalogError(Exception):
    """The catalog cannot be used as it is; the message says what happened and what to do."""


class ServerUnavailable(CatalogError):
    """The catalog's server cannot be reached now (it stopped, the network went): nothing uncommitted was
    kept on it. One of `store.db.BACKEND_ERRORS`, as SQLite's own I/O and lock errors are."""
