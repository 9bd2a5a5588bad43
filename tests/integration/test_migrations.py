"""The migrations are the only way the schema is made: what they build must be what the
models declare, on both backends, and every migration must step down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from identity.store import schema
from identity.store.models import Base


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    assert _differences(database_url) == []


def test_every_migration_steps_down_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'databank.sqlite'}"
    config = schema.alembic_config(url)
    schema.upgrade(url)
    command.downgrade(config, "base")
    schema.upgrade(url)
    assert _differences(url) == []
