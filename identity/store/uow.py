"""The unit of work: one transaction, the repositories that work inside it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from identity.store.database import is_sqlite

__all__ = ["Store", "UnitOfWork"]


class Store:
    """The database: a write engine and, on SQLite, a reader that takes no write lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(engine)
        self.reader = engine.execution_options(sqlite_begin="DEFERRED") if self.sqlite else engine
        # One-statement reads need no transaction: autocommit, so nothing to begin or end.
        self.lookups = (
            engine.execution_options(sqlite_begin="")
            if self.sqlite
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    def unit_of_work(self, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.reader if readonly else self.engine, self.sqlite)


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
