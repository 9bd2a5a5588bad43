"""Engines for the embedded SQLite default and for PostgreSQL (psycopg 3)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from identity.store.checkpoints import FALLBACK_PAGES
from identity.store.driver import as_sqlalchemy
from identity.store.gate import GatedConnection

__all__ = ["create_store_engine", "is_sqlite", "sqlite_file"]


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings Databank relies on.

    SQLite: WAL (checkpointed by the store's thread, :mod:`identity.store.checkpoints`),
    ``synchronous=NORMAL``, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for
    every transaction so that writers queue instead of failing on upgrade, in the order
    of a file lock (:mod:`identity.store.gate`); an engine made with
    ``execution_options(sqlite_begin="DEFERRED")`` reads without taking the write lock,
    one with ``sqlite_begin=""`` runs each statement on its own (autocommit).
    PostgreSQL URLs use psycopg 3.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    # No pre-ping (a round trip per checkout): the services retry once on a connection
    # found dead instead (identity.services.transactions).
    options = {"pool_size": 10, "max_overflow": 10, **kwargs}
    return create_engine(parsed, **options)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_file(engine: Engine) -> str | None:
    """The path of ``engine``'s SQLite database file; ``None`` for PostgreSQL, an
    in-memory database or a ``file:`` URI."""
    database = engine.url.database if is_sqlite(engine) else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _sqlite_engine(url: Any, **kwargs: Any) -> Engine:
    connect_args = {"check_same_thread": False, "timeout": 30, "factory": GatedConnection}
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    database = sqlite_file(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
            f"wal_autocheckpoint={FALLBACK_PAGES}",  # the store's Checkpointer does it
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        if database is not None:
            dbapi_connection.open_gate(database)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode:  # on the driver: a statement through SQLAlchemy costs ~25 us more
            statement = f"BEGIN {mode}"
            try:
                connection.connection.driver_connection.begin(statement, mode != "DEFERRED")
            except sqlite3.Error as exc:  # a busy file: the services retry on this
                raise as_sqlalchemy(connection.dialect, exc, statement, None, False) from exc

    return engine
