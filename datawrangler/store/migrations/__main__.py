"""A developer's command: write the next Alembic revision from the difference between store.tables and the
head of the history.

    python -m datawrangler.store.migrations revision -m "what it changes"

The history is run on a scratch SQLite catalog in a temporary folder and compared with store.tables (batch
operations, so the revision runs on SQLite as on PostgreSQL). Read the revision it writes before keeping it:
Alembic cannot tell a renamed column from a dropped one and a new one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command

from datawrangler.store import migrations
from datawrangler.store.migrations import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datawrangler.store.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="write the next revision from store.tables")
    rev.add_argument("-m", "--message", required=True, help="what the revision changes, in a few words")
    args = parser.parse_args(argv)
    version = migrations.head_version() + 1
    with tempfile.TemporaryDirectory() as scratch, run.sqlite_transaction(Path(scratch) / "head.sqlite") as conn:
        run.upgrade(conn)
        script = command.revision(run.config(conn), message=args.message, autogenerate=True, rev_id=f"v{version}")
    path = getattr(script, "path", None)
    print(f"Wrote {path}. Read it, then add {f'v{version}'!r}: {version} to REVISIONS in "
          f"{Path(migrations.__file__).name} (store.migrations) and run tests/store/test_migrations.py.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
