"""insights: audience indexes ordered by person id

An audience page walks one index in person-id order and stops at the page's limit, so
the tag and trait lookups gain ``person_id`` as their last column (replacing the shorter
indexes, which they cover) and channels get the same shape, with ``last_seen`` carried
along for ``seen_since``.

Revision ID: 0002_insights
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002_insights"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_person_tags_audience", "person_tags", ["workspace_id", "tag", "person_id"]
    )
    op.drop_index("ix_person_tags_lookup", table_name="person_tags")
    op.create_index(
        "ix_person_traits_audience",
        "person_traits",
        ["workspace_id", "name", "value_text", "person_id"],
    )
    op.drop_index("ix_person_traits_lookup", table_name="person_traits")
    op.create_index(
        "ix_person_channels_audience",
        "person_channels",
        ["workspace_id", "channel", "person_id", "last_seen"],
    )


def downgrade() -> None:
    op.drop_index("ix_person_channels_audience", table_name="person_channels")
    op.create_index(
        "ix_person_traits_lookup", "person_traits", ["workspace_id", "name", "value_text"]
    )
    op.drop_index("ix_person_traits_audience", table_name="person_traits")
    op.create_index("ix_person_tags_lookup", "person_tags", ["workspace_id", "tag"])
    op.drop_index("ix_person_tags_audience", table_name="person_tags")
