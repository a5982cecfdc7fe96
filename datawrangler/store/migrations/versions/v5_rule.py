"""Schema 5: what a drive is (`volumes.media_kind`), which station made an offload and where it stood
(`offloads.station`, `offloads.site`), for a studio's rule such as 3-2-1 (core.protection).

Revision ID: v5
Revises: v4
Create Date: 2026-12-04

Three nullable columns, so an existing catalog keeps every row as it was: NULL says "not recorded", and a rule
that counts kinds of media or places never counts a NULL as another kind or place. On SQLite, batch mode adds
the columns with ALTER TABLE (no table copy); on PostgreSQL they are plain ADD COLUMNs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "v5"
down_revision: str | None = "v4"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("offloads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("station", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("site", sa.Text(), nullable=True))
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_kind", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.drop_column("media_kind")
    with op.batch_alter_table("offloads", schema=None) as batch_op:
        batch_op.drop_column("site")
        batch_op.drop_column("station")
