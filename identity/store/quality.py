"""SQL for the quality report: person sizes and contested values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from identity.store.models import Contested, IdentifierRow, table

__all__ = ["QualityRepository"]


class QualityRepository:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _sizes(self) -> Any:
        i = table(IdentifierRow).c
        return (
            select(i.person_id, func.count().label("size"))
            .where(i.workspace_id == self.workspace_id)
            .group_by(i.person_id)
            .subquery()
        )

    def size_counts(self) -> dict[int, int]:
        """``identifiers per person -> persons of that size``."""
        sizes = self._sizes()
        rows = self.session.execute(select(sizes.c.size, func.count()).group_by(sizes.c.size))
        return {int(size): int(count) for size, count in rows}

    def largest(self, top: int, at_least: int = 1) -> list[tuple[str, int]]:
        sizes = self._sizes()
        rows = self.session.execute(
            select(sizes.c.person_id, sizes.c.size)
            .where(sizes.c.size >= at_least)
            .order_by(desc(sizes.c.size), sizes.c.person_id)
            .limit(top)
        )
        return [(str(person), int(size)) for person, size in rows]

    def contested(self, top: int) -> list[dict[str, Any]]:
        c = table(Contested).c
        rows = self.session.execute(
            select(c.kind, c.scope, c.value, c.reason, c.count, c.last_at)
            .where(c.workspace_id == self.workspace_id)
            .order_by(desc(c.count), c.kind, c.scope, c.value)
            .limit(top)
        )
        return [dict(row._mapping) for row in rows]

    def counts_by_kind(self, reason: str) -> dict[str, int]:
        c = table(Contested).c
        rows = self.session.execute(
            select(c.kind, func.sum(c.count))
            .where(c.workspace_id == self.workspace_id, c.reason == reason)
            .group_by(c.kind)
            .order_by(c.kind)
        )
        return {kind: int(total) for kind, total in rows}
