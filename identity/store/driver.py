"""Core statements run on the driver connection: the online hot paths' SQL.

SQLAlchemy spends about 35 us of Python on each execution of even a cached statement,
several times what SQLite takes to run one of the indexed statements of an observation.
A :class:`Prepared` statement is a Core statement compiled once per backend; a
:class:`Driver` runs it on the DBAPI connection under the unit of work's transaction,
putting values into the form the columns hold (naive UTC datetimes, JSON text) and
reading them back as SQLAlchemy would (aware UTC datetimes, decoded JSON).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, ColumnElement, bindparam
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

from identity.store.models import UTCDateTime

__all__ = [
    "Driver",
    "Prepared",
    "as_sqlalchemy",
    "in_list",
    "list_size",
    "listed",
    "prepared",
    "stored_time",
]

Convert = Callable[[Any], Any]

# SQLite's driver takes ``:name`` parameters with a dict, as psycopg takes ``%(name)s``.
_DIALECTS: dict[bool, Dialect] = {
    True: sqlite.dialect(paramstyle="named"),
    False: psycopg.dialect(),  # type: ignore[no-untyped-call]
}
_CACHED = 4096  # prepared statements kept; more means statements are not built once


class Prepared:
    """A statement compiled for one backend: its SQL, how to put each parameter and
    how to read each result column.

    ``columns`` names the values each row of an insert carries (an insert without them
    would bind every column of the table).
    """

    def __init__(
        self, statement: Executable, sqlite: bool, columns: Sequence[str] | None = None
    ) -> None:
        dialect, clause = _DIALECTS[sqlite], cast(ClauseElement, statement)
        if columns is None:
            compiled = clause.compile(dialect=dialect)
        else:  # an insert of rows that carry these columns, without implicit RETURNING
            compiled = clause.compile(
                dialect=dialect, column_keys=list(columns), for_executemany=True
            )
        self.sql = compiled.string
        self.binds: dict[str, Convert] = {}
        self.defaults: dict[str, Any] = {}
        given = set(columns or ())
        for bind, name in cast(SQLCompiler, compiled).bind_names.items():
            if bind.expanding or bind.callable is not None:
                raise ValueError(f"{name}: expanding or computed parameters are not prepared")
            convert = _to_column(bind.type, sqlite)
            if convert is not None:
                self.binds[name] = convert
            if not bind.required and bind.key not in given and bind.value is not None:
                self.defaults[name] = bind.value if convert is None else convert(bind.value)
        exported = getattr(statement, "exported_columns", None) or ()
        self.columns = [_from_column(column.type, sqlite) for column in exported]
        self.reads = any(c is not None for c in self.columns)

    def params(self, given: dict[str, Any]) -> dict[str, Any]:
        values = {**self.defaults, **given} if self.defaults else dict(given)
        for name, convert in self.binds.items():
            if name in values:
                values[name] = convert(values[name])
        return values

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.reads:
            return tuple(raw)
        return tuple(
            value if convert is None or value is None else convert(value)
            for value, convert in zip(raw, self.columns, strict=True)
        )


_cache: dict[tuple[int, bool, tuple[str, ...] | None], tuple[Executable, Prepared]] = {}
_cache_lock = threading.Lock()


def prepared(statement: Executable, sqlite: bool, columns: Sequence[str] | None = None) -> Prepared:
    """``statement`` prepared for the backend, compiled on first use only. Meant for
    statements that are built once (module constants, ``functools.cache``)."""
    key = (id(statement), sqlite, None if columns is None else tuple(columns))
    found = _cache.get(key)
    if found is None or found[0] is not statement:
        with _cache_lock:
            if len(_cache) >= _CACHED:
                _cache.clear()
            found = (statement, Prepared(statement, sqlite, columns))
            _cache[key] = found
    return found[1]


class Driver:
    """The DBAPI connection of a SQLAlchemy connection, inside its transaction.

    Driver errors come out as SQLAlchemy's (``OperationalError``, ``IntegrityError``,
    ...), and a connection the server dropped is invalidated, as SQLAlchemy does for its
    own statements: the services' retries depend on both.
    """

    def __init__(self, connection: Connection) -> None:
        self._on(connection.dialect, connection.connection.driver_connection, connection.invalidate)

    @classmethod
    def pooled(
        cls,
        dialect: Dialect,
        pooled: PoolProxiedConnection,
        invalidate: Callable[[BaseException], None] | None = None,
    ) -> Driver:
        """The driver of a connection taken from the pool without a SQLAlchemy
        :class:`Connection` (which costs about 20 us to make and close); ``invalidate``
        is called with the error when the connection is found dead (by default the
        pool's invalidation)."""
        driver = cls.__new__(cls)
        driver._on(dialect, pooled.driver_connection, invalidate or pooled.invalidate)
        return driver

    def _on(self, dialect: Dialect, raw: Any, invalidate: Callable[[BaseException], None]) -> None:
        self.dialect = dialect
        self.sqlite = dialect.name == "sqlite"
        self.raw = raw
        self._invalidate = invalidate

    def rows(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """The rows of a query (or of an insert's or update's ``RETURNING``)."""
        plan = prepared(statement, self.sqlite)
        with self._executed(plan, plan.params(params or {})) as cursor:
            return [plan.row(raw) for raw in cursor.fetchall()]

    def run(self, statement: Executable, params: dict[str, Any] | None = None) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        plan = prepared(statement, self.sqlite)
        with self._executed(plan, plan.params(params or {})) as cursor:
            return int(cursor.rowcount)

    def run_many(self, statement: Executable, rows: Sequence[dict[str, Any]]) -> None:
        """Execute once per row; the rows of an insert all carry the same columns."""
        if not rows:
            return
        plan = prepared(statement, self.sqlite, list(rows[0]))
        values = [plan.params(row) for row in rows]
        with self._executed(plan, values[0] if len(values) == 1 else values):
            pass

    @contextmanager
    def pipelined(self) -> Iterator[None]:
        """Send statements without waiting for each answer (PostgreSQL's pipeline
        mode): the writes of an observation reach the server in one round trip instead
        of one each; reading rows waits for what was sent before. Nothing on SQLite.
        A statement's error comes out when its answer is read, at the latest on leaving.
        """
        if self.sqlite or self.raw.info.pipeline_status:  # one pipeline at a time
            yield
            return
        try:
            with self.raw.pipeline():
                yield
        except self.dialect.loaded_dbapi.Error as exc:
            gone = self.dialect.is_disconnect(exc, self.raw, None)
            if gone:
                self._invalidate(exc)
            raise as_sqlalchemy(self.dialect, exc, None, None, gone) from exc

    @contextmanager
    def _executed(self, plan: Prepared, values: Any) -> Iterator[Any]:
        """A cursor that ran ``plan`` with ``values`` (a list of them: once each)."""
        dialect = self.dialect
        base = dialect.loaded_dbapi.Error
        cursor = self.raw.cursor()
        try:
            if isinstance(values, list):
                cursor.executemany(plan.sql, values)
            else:
                cursor.execute(plan.sql, values)
            yield cursor
        except base as exc:
            gone = dialect.is_disconnect(exc, self.raw, cursor)
            if gone:
                self._invalidate(exc)
            raise as_sqlalchemy(dialect, exc, plan.sql, values, gone) from exc
        finally:
            cursor.close()


def as_sqlalchemy(
    dialect: Dialect, exc: Exception, statement: str | None, params: Any, gone: bool
) -> DBAPIError:
    """A driver's error as SQLAlchemy would raise it (``OperationalError``, ...)."""
    wrapped = DBAPIError.instance(
        statement, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=gone,
        dialect=dialect,
    )  # fmt: skip
    return cast(DBAPIError, wrapped)  # a DBAPIError for any error of the driver


def _to_column(type_: TypeEngine[Any], sqlite: bool) -> Convert | None:
    if isinstance(type_, UTCDateTime):
        return _sqlite_time if sqlite else _naive_utc
    if isinstance(type_, JSON):
        return _json_text
    return None


def _from_column(type_: TypeEngine[Any], sqlite: bool) -> Convert | None:
    if isinstance(type_, UTCDateTime):
        return _read_sqlite_time if sqlite else _aware_utc
    if isinstance(type_, JSON) and sqlite:
        return _read_sqlite_json  # psycopg decodes json and jsonb itself
    return None


def stored_time(value: datetime, sqlite: bool) -> Any:
    """An aware datetime as a :class:`UTCDateTime` column holds it on the backend."""
    return _sqlite_time(value) if sqlite else _naive_utc(value)


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime stores this form; the columns are compared as text.
    return _naive_utc(value).isoformat(" ", "microseconds")


def _read_sqlite_time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _aware_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _read_sqlite_json(value: Any) -> Any:
    # A JSON column has NUMERIC affinity in SQLite: a number comes back as one.
    return json.loads(value) if isinstance(value, str) else value


def _json_text(value: Any) -> str:
    return json.dumps(value)


def in_list(column: ColumnElement[Any], name: str, size: int) -> ColumnElement[bool]:
    """``column IN (:name0, ..., :name<size-1>)``; bind it with :func:`listed`."""
    return column.in_([bindparam(f"{name}{j}") for j in range(size)])


def list_size(count: int) -> int:
    """The size of :func:`in_list` that holds ``count`` values: a power of two, so that
    a few shapes of each statement serve every count.

    >>> [list_size(n) for n in (0, 1, 2, 3, 5, 9)]
    [1, 1, 2, 4, 8, 16]
    """
    return 1 << max(count - 1, 0).bit_length()


def listed(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """The parameters of ``in_list(column, name, list_size(len(values)))``: the last
    value repeats to fill the list, which changes nothing for ``IN``.

    >>> listed("id", [7, 8, 9])
    {'id0': 7, 'id1': 8, 'id2': 9, 'id3': 9}
    """
    size = list_size(len(values))
    return {f"{name}{j}": values[min(j, len(values) - 1)] for j in range(size)}
