"""imports: whether the import owns its file

An HTTP upload is the import's own copy of a channel export, full of raw personal data:
``owns_file`` marks it, and the worker removes the file once the import is done or has
failed. A file given to ``databank import`` belongs to the user and is never touched.

Revision ID: 0005_import_owns_file
Revises: 0004_imports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_import_owns_file"
down_revision = "0004_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owns_file", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_column("owns_file")
