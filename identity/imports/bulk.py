"""Bulk SQL for the import engine: many rows per statement, never the ORM per row.

SQLite gets ``executemany`` on its own driver connection (one prepared statement, values
already in the form SQLAlchemy would store); PostgreSQL gets ``COPY ... FROM STDIN``
(psycopg 3), and updates go through a temporary table and one statement. Both run inside
the unit of work's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from identity.imports.gathered import epoch_micros
from identity.store.driver import stored_time
from identity.store.profiles import channel_set

__all__ = ["Bulk", "stored_times"]

_SQLITE_IN = 900  # bound parameter lists well below SQLite's variable limit
_POSTGRES_IN = 5000


class Bulk:
    """The raw driver connection of a session, with the statements the engine needs.

    Values go in as Python objects; :meth:`when` and :meth:`doc` put datetimes and JSON
    documents into the form the backend's columns hold (naive UTC; JSON text).
    """

    def __init__(self, session: Session, sqlite: bool) -> None:
        self.session = session
        self.sqlite = sqlite
        self.driver: Any = session.connection().connection.driver_connection
        self.in_size = _SQLITE_IN if sqlite else _POSTGRES_IN
        self._when: dict[datetime, Any] = {}
        self._docs: dict[tuple[str, ...], str] = {}
        self._channel_sets: dict[frozenset[str], str | None] = {}

    @contextmanager
    def roomy_cache(self, kib: int = 262_144) -> Iterator[None]:
        """On SQLite, a page cache of ``kib`` KiB while a chunk is written (the default 2
        MiB makes inserts into large indexes read the same pages again and again)."""
        if not self.sqlite:
            yield
            return
        before = self.driver.execute("PRAGMA cache_size").fetchone()[0]
        self.driver.execute(f"PRAGMA cache_size = -{kib}")
        try:
            yield
        finally:
            self.driver.execute(f"PRAGMA cache_size = {int(before)}")

    # -- values -------------------------------------------------------------------------
    def when(self, at: datetime) -> Any:
        """``at`` as the column holds it (rows of a file share their times: cached)."""
        found = self._when.get(at)
        if found is None:
            found = self._when[at] = stored_time(at, self.sqlite)
        return found

    def when_many(
        self, times: Sequence[datetime], micros: NDArray[np.int64] | None = None
    ) -> list[Any]:
        """``[self.when(at) for at in times]``, at once (``micros``: their
        :func:`~identity.imports.gathered.epoch_micros`, if known); :meth:`when`
        remembers them."""
        found = stored_times(times, self.sqlite, micros)
        self._when.update(zip(times, found, strict=True))
        return found

    def channel_set(self, channels: Collection[str]) -> str | None:
        """:func:`~identity.store.profiles.channel_set`, cached by the set of channels."""
        key = frozenset(channels)
        found = self._channel_sets.get(key, "")
        if found == "":
            found = self._channel_sets[key] = channel_set(key)
        return found

    @staticmethod
    def doc(value: Any) -> str:
        return json.dumps(value)

    def names(self, names: list[str]) -> str:
        """A JSON list of a few names (channels), cached by value."""
        key = tuple(names)
        found = self._docs.get(key)
        if found is None:
            found = self._docs[key] = json.dumps(names)
        return found

    # -- statements ---------------------------------------------------------------------
    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert ``rows`` (tuples in the order of ``columns``)."""
        names = ", ".join(columns)
        cursor = self.driver.cursor()
        try:
            if self.sqlite:
                marks = ", ".join("?" * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            else:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        finally:
            cursor.close()

    def execute_many(self, sqlite_sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement (``?`` placeholders; ``%s`` on PostgreSQL) per row."""
        if not rows:
            return
        cursor = self.driver.cursor()
        try:
            sql = sqlite_sql if self.sqlite else sqlite_sql.replace("?", "%s")
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def update(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], key: str = "id"
    ) -> None:
        """Set ``columns`` of the rows of ``table`` whose ``key`` is the last value of each
        of ``rows`` (the others in the order of ``columns``). On PostgreSQL the rows are
        copied to a temporary table and one ``UPDATE`` joins it, instead of a statement
        per row; SQLite runs its prepared statement per row, in process."""
        if not rows:
            return
        if self.sqlite:
            sets = ", ".join(f"{c} = ?" for c in columns)
            self.execute_many(f"UPDATE {table} SET {sets} WHERE {key} = ?", rows)
            return
        staged = self._stage(table, [*columns, key], rows)
        sets = ", ".join(f"{c} = s.{c}" for c in columns)
        self.session.execute(
            text(f"UPDATE {table} AS t SET {sets} FROM {staged} AS s WHERE t.{key} = s.{key}")
        )

    def upsert(
        self, table: str, columns: Sequence[str], keys: str, changes: str,
        rows: Sequence[Sequence[Any]],
    ) -> None:  # fmt: skip
        """Insert ``rows`` (in the order of ``columns``); a row whose ``keys`` (SQL, such
        as ``person_id, tag``) are taken sets ``changes`` (SQL over ``excluded``) instead.
        On PostgreSQL the rows go through a temporary table, as in :meth:`update`."""
        if not rows:
            return
        names = ", ".join(columns)
        conflict = f"ON CONFLICT ({keys}) DO UPDATE SET {changes}"
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            self.execute_many(f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}", rows)
            return
        staged = self._stage(table, columns, rows)
        self.session.execute(
            text(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staged} {conflict}")
        )

    def _stage(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """A temporary table with ``columns`` of ``table`` (their types, no constraints),
        filled with ``rows`` (PostgreSQL); its name."""
        names = ", ".join(columns)
        shape = hashlib.blake2s(f"{table}({names})".encode(), digest_size=6).hexdigest()
        name = f"import_staged_{shape}"  # one per shape; a connection keeps its own
        like = f"{self._on_commit} AS SELECT {names} FROM {table} WITH NO DATA"
        self._fill(name, like, columns, rows)
        return name

    def reserve_ids(self, table: str, count: int) -> list[int]:
        """``count`` fresh primary keys of ``table`` (``id``), in increasing order.

        SQLite writes are serial (``BEGIN IMMEDIATE``), so the keys above the largest
        are free; PostgreSQL takes them from the column's sequence, as an insert would.
        """
        if count == 0:
            return []
        if self.sqlite:
            top = self.session.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
            start = int(top.scalar_one()) + 1
            return list(range(start, start + count))
        rows = self.session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                 "FROM generate_series(1, :n)"),
            {"n": count},
        )  # fmt: skip
        return sorted(int(r[0]) for r in rows)

    def chunks(self, values: Sequence[Any]) -> Iterator[Sequence[Any]]:
        for start in range(0, len(values), self.in_size):
            yield values[start : start + self.in_size]

    def select_in(
        self, query: Callable[[Sequence[Any]], Any], values: Iterable[Any]
    ) -> Iterator[Any]:
        """The rows of ``query(chunk)`` for each bounded chunk of ``values``."""
        ordered = sorted(set(values))
        for chunk in self.chunks(ordered):
            yield from self.session.execute(query(chunk)).all()

    def keys_table(self, name: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
        """Fill the temporary table ``name`` (made on first use, ``columns`` with their
        types) with ``rows``."""
        names = [c.split()[0] for c in columns.split(",")]
        self._fill(name, f"({columns}){self._on_commit}", names, rows)

    @property
    def _on_commit(self) -> str:
        return "" if self.sqlite else " ON COMMIT DELETE ROWS"

    def _fill(
        self, name: str, definition: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Empty the temporary table ``name`` (made from ``definition`` on first use) and
        insert ``rows``; on PostgreSQL, tell the planner how many there are."""
        self.session.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} {definition}"))
        self.session.execute(text(f"DELETE FROM {name}"))
        self.insert(name, columns, rows)
        if not self.sqlite:
            self.session.execute(text(f"ANALYZE {name}"))


def stored_times(
    times: Sequence[datetime], text: bool, micros: NDArray[np.int64] | None = None
) -> list[Any]:
    """Aware ``times`` as the columns hold them, at once (numpy): naive UTC datetimes,
    or their ISO text on SQLite (``text``), as :meth:`Bulk.when` gives them one by one.
    ``micros`` are their :func:`~identity.imports.gathered.epoch_micros`, if known.

    >>> from datetime import timedelta, timezone
    >>> stored_times([datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))], True)
    ['2026-01-01 00:00:00.000000']
    """
    if not times:
        return []
    if micros is None:
        micros = epoch_micros(times)
    naive = micros.astype("datetime64[us]")
    if not text:
        return list(naive.tolist())
    return list(np.strings.replace(np.datetime_as_string(naive, unit="us"), "T", " ").tolist())
