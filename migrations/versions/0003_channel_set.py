"""channel sets: each live person's sorted channels, indexed for overlap

``persons.channel_set`` holds the person's channel names as a sorted JSON array. Overlap
counts live persons per distinct set through a partial index, instead of grouping every
``person_channels`` row of the workspace per request. Existing persons are filled in.

Revision ID: 0003_channel_set
Revises: 0002_insights
"""

from __future__ import annotations

import json
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision = "0003_channel_set"
down_revision = "0002_insights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("persons", sa.Column("channel_set", sa.Text(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT person_id, channel FROM person_channels ORDER BY person_id, channel")
    )
    update = sa.text("UPDATE persons SET channel_set = :channels WHERE id = :person")
    batch = []
    for person, entries in groupby(rows, key=lambda row: row[0]):
        names = [channel for _, channel in entries]
        batch.append({"person": person, "channels": json.dumps(names, separators=(",", ":"))})
        if len(batch) >= 5000:
            bind.execute(update, batch)
            batch = []
    if batch:
        bind.execute(update, batch)
    op.create_index(
        "ix_persons_channel_set",
        "persons",
        ["workspace_id", "channel_set"],
        sqlite_where=sa.text("merged_into IS NULL"),
        postgresql_where=sa.text("merged_into IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_persons_channel_set", table_name="persons")
    op.drop_column("persons", "channel_set")
