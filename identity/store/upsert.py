"""``INSERT ... ON CONFLICT`` for the two backends."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

__all__ = ["upsert"]


def upsert(
    session: Session | Connection,
    table: Any,
    rows: Sequence[dict[str, Any]],
    keys: Iterable[str],
    update: Iterable[str] = (),
    add: Iterable[str] = (),
) -> None:
    """Insert ``rows``; on a key conflict overwrite the ``update`` columns and add the
    ``add`` columns to what is stored (with neither, do nothing)."""
    if not rows:
        return
    bind = session.get_bind() if isinstance(session, Session) else session
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    excluded = statement.excluded
    changes = {c: excluded[c] for c in update}
    changes.update({c: table.c[c] + excluded[c] for c in add})
    if changes:
        statement = statement.on_conflict_do_update(index_elements=list(keys), set_=changes)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    session.execute(statement, list(rows))
