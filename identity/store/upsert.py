"""``INSERT ... ON CONFLICT`` for the two backends."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from identity.store.driver import Driver

__all__ = ["connection_of", "upsert"]


def upsert(
    session: Session | Connection,
    table: Any,
    rows: Sequence[dict[str, Any]],
    keys: Iterable[str],
    update: Iterable[str] = (),
    add: Iterable[str] = (),
) -> None:
    """Insert ``rows`` (which all carry the same columns); on a key conflict overwrite
    the ``update`` columns and add the ``add`` columns to what is stored (with neither,
    do nothing)."""
    if not rows:
        return
    driver = Driver(connection_of(session))
    statement = _statement(table, not driver.sqlite, tuple(keys), tuple(update), tuple(add))
    driver.run_many(statement, rows)


def connection_of(session: Session | Connection) -> Connection:
    """The connection of a session's transaction: Core statements need no ORM."""
    return session.connection() if isinstance(session, Session) else session


@functools.cache
def _statement(
    table: Table, postgres: bool, keys: tuple[str, ...], update: tuple[str, ...],
    add: tuple[str, ...],
) -> Executable:  # fmt: skip
    """Built once per table and shape, so compiled once."""
    statement = (postgresql if postgres else sqlite).insert(table)
    excluded = statement.excluded
    changes = {c: excluded[c] for c in update}
    changes.update({c: table.c[c] + excluded[c] for c in add})
    built: Executable = (
        statement.on_conflict_do_update(index_elements=list(keys), set_=changes)
        if changes
        else statement.on_conflict_do_nothing(index_elements=list(keys))
    )
    return built
