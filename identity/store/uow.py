"""The unit of work: one transaction, the repositories that work inside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from identity.store.database import is_sqlite
from identity.store.driver import Driver, as_sqlalchemy

__all__ = ["Store", "UnitOfWork"]


class Store:
    """The database: a write engine and, on SQLite, a reader that takes no write lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(engine)
        self.reader = engine.execution_options(sqlite_begin="DEFERRED") if self.sqlite else engine

    def unit_of_work(self, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.reader if readonly else self.engine, self.sqlite)

    @contextmanager
    def lookups(self) -> Iterator[Driver]:
        """A pooled connection for reads of one statement each: no transaction
        (autocommit), so there is nothing to begin or end."""
        dialect = self.engine.dialect
        try:
            pooled = self.engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:  # as Engine.connect() would raise it
            gone = dialect.is_disconnect(exc, None, None)
            raise as_sqlalchemy(dialect, exc, None, None, gone) from exc
        raw: Any = pooled.driver_connection  # SQLite's: autocommit unless we BEGIN
        try:
            if not self.sqlite:
                raw.autocommit = True
            yield Driver.pooled(dialect, pooled)
        finally:
            if not self.sqlite and pooled.dbapi_connection is not None:  # not invalidated
                raw.autocommit = False
            pooled.close()


class UnitOfWork:
    """``with uow:`` rolls back unless :meth:`commit` was called.

    On PostgreSQL the persons an observation touches are locked ``FOR UPDATE`` in id
    order; on SQLite every writing transaction begins ``IMMEDIATE`` and so is serial.

    Work that needs no ORM takes :meth:`connection`; the :attr:`session` is made on
    first use only (it costs about 100 us per transaction) and shares the transaction.
    """

    def __init__(self, engine: Engine, sqlite: bool) -> None:
        self._engine = engine
        self.sqlite = sqlite
        self._session: Session | None = None
        self._connection: Connection | None = None
        self._owns_connection = False

    def __enter__(self) -> UnitOfWork:
        self._session, self._connection, self._owns_connection = None, None, False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._session is not None:
                self._session.rollback()
                self._session.close()
        finally:
            if self._owns_connection and self._connection is not None:
                self._connection.close()  # rolls back what was not committed
            self._session, self._connection, self._owns_connection = None, None, False

    @property
    def session(self) -> Session:
        if self._session is None:
            if self._connection is None:
                self._session = Session(self._engine, expire_on_commit=False, autoflush=False)
            else:  # joins the transaction the connection began
                self._session = Session(bind=self._connection, expire_on_commit=False,
                                        autoflush=False)  # fmt: skip
        return self._session

    def connection(self) -> Connection:
        """The connection of the transaction, which begins on first use."""
        if self._connection is None:
            if self._session is not None:
                self._connection = self._session.connection()
            else:
                self._connection = self._engine.connect()
                self._owns_connection = True
                self._connection.begin()
        return self._connection

    def commit(self) -> None:
        if self._session is not None:
            self._session.commit()
        if self._owns_connection and self._connection is not None:
            self._connection.commit()
