"""The unit of work: one transaction, the repositories that work inside it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Engine
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
    """

    def __init__(self, engine: Engine, sqlite: bool) -> None:
        self._engine = engine
        self.sqlite = sqlite

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self._engine, expire_on_commit=False, autoflush=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
