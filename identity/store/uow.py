"""The unit of work: one transaction, the repositories that work inside it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from identity.store.checkpoints import Checkpointer
from identity.store.database import is_sqlite, sqlite_file
from identity.store.driver import Driver, as_sqlalchemy

__all__ = ["Store", "UnitOfWork"]


class Store:
    """The database: a write engine and, on SQLite, a reader that takes no write lock.

    Lookups (reads of one statement each, no transaction) run on a connection of their
    own per thread, kept in autocommit: taking one from the pool and giving it back
    costs about 30 us (SQLite) to 60 us (PostgreSQL, which also switches autocommit on
    and off) per call. These connections come from the engine (its connect settings
    apply), are replaced when found dead, and are closed with ``engine.dispose()``, or
    once their thread has ended, when another thread takes a new one.
    A SQLite file's WAL is checkpointed by a thread of the store's (stopped likewise),
    not by the request that happens to commit past 1,000 pages.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(engine)
        self.reader = engine.execution_options(sqlite_begin="DEFERRED") if self.sqlite else engine
        self._local = threading.local()
        # each lookup connection and the thread it belongs to
        self._lookup_connections: dict[PoolProxiedConnection, threading.Thread] = {}
        self._lookup_lock = threading.Lock()
        self._checkpointer: Checkpointer | None = None
        if sqlite_file(engine) is not None:
            self._checkpointer = Checkpointer(engine, owner=self)
        event.listen(engine, "engine_disposed", self._close_lookups)

    def unit_of_work(self, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.reader if readonly else self.engine, self.sqlite)

    @contextmanager
    def lookups(self) -> Iterator[Driver]:
        """This thread's connection for reads of one statement each: no transaction
        (autocommit), so there is nothing to begin or end."""
        driver: Driver | None = getattr(self._local, "driver", None)
        if driver is None:
            driver = self._local.driver = self._lookup_driver()
        yield driver

    def _lookup_driver(self) -> Driver:
        dialect = self.engine.dialect
        try:
            pooled = self.engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:  # as Engine.connect() would raise it
            gone = dialect.is_disconnect(exc, None, None)
            raise as_sqlalchemy(dialect, exc, None, None, gone) from exc

        def drop(_: BaseException | None = None) -> None:
            if getattr(self._local, "driver", None) is driver:
                del self._local.driver
            with self._lookup_lock:
                self._lookup_connections.pop(pooled, None)
            _close_quietly(pooled)

        driver = Driver.pooled(dialect, pooled, invalidate=drop)
        pooled.detach()  # this thread's own from now on; closed by drop() or dispose
        if not self.sqlite:  # SQLite's driver is in autocommit unless we BEGIN
            driver.raw.autocommit = True
        with self._lookup_lock:
            connections = self._lookup_connections
            ended = [c for c, thread in connections.items() if not thread.is_alive()]
            for connection in ended:  # their threads cannot use them any more
                del connections[connection]
            connections[pooled] = threading.current_thread()
        for connection in ended:
            _close_quietly(connection)
        return driver

    def _close_lookups(self, _: Engine) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        with self._lookup_lock:
            connections, self._lookup_connections = self._lookup_connections, {}
        self._local = threading.local()
        for pooled in connections:
            _close_quietly(pooled)


def _close_quietly(pooled: PoolProxiedConnection) -> None:
    with contextlib.suppress(Exception):  # already broken: nothing more to do
        pooled.close()  # a detached connection closes its driver connection


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
