"""Alembic environment: the URL comes from the caller (``databank db upgrade``) or from
``DATABANK_DATABASE_URL``; batch mode keeps ALTERs working on SQLite."""

from __future__ import annotations

from alembic import context

from identity.settings import Settings
from identity.store.database import create_store_engine
from identity.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_store_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=True)  # fmt: skip
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
