"""imports: the file's digest, the claim of the worker running it, duplicates

``sha256`` (of the file's bytes) with the mapping tells a re-import of the same file;
``duplicate_of`` points a re-import at the import it repeats; ``claimed_by`` names the
worker that holds a running import, so that a worker whose claim was taken over (its
heartbeat went stale) cannot commit another chunk; ``chunk_rows`` is the checkpoint size.

Revision ID: 0004_imports
Revises: 0003_channel_set
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_imports"
down_revision = "0003_channel_set"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("chunk_rows", sa.Integer(), nullable=True))
        batch_op.create_index("ix_imports_file", ["workspace_id", "sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index("ix_imports_file")
        batch_op.drop_column("chunk_rows")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("sha256")
