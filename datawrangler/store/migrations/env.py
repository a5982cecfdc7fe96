"""Alembic's environment for the catalog: run by `store.migrations.run`, never by an alembic.ini.

The caller hands Alembic an open SQLAlchemy connection (`config.attributes["connection"]`), inside the
transaction it began: the migrations then commit or roll back as one with the caller's own checks (on SQLite
under the write lock, BEGIN IMMEDIATE; on PostgreSQL under an advisory lock, so two stations creating one
server's catalog at once do not both create it). Without a connection (offline mode, `--sql`) Alembic
writes the SQL for a database administrator to run instead.
"""

from __future__ import annotations

from alembic import context

from datawrangler.store import tables

config = context.config
target_metadata = tables.metadata


def _offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("The catalog's migrations run through datawrangler.store.migrations.run (which "
                           "passes the connection); there is no alembic.ini to run them with.")
    # SQLite alters a table by copying it (batch mode): a revision written for both backends uses
    # op.batch_alter_table, which is a plain ALTER on PostgreSQL
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      compare_server_default=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _offline()
else:
    _online()
