"""SQL for the operator's repairs: read a person's graph, move, cut and erase."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from identity.graph import LinkEvidence
from identity.identifiers import Identifier
from identity.store.models import (
    Contested,
    History,
    Hold,
    IdentifierRow,
    Link,
    Message,
    Person,
    PersonChannel,
    PersonTag,
    PersonTrait,
    Suppression,
    table,
)
from identity.store.upsert import upsert

__all__ = ["PersonGraphRows", "RepairRepository"]


@dataclass
class PersonGraphRows:
    """A person's identifiers (with row ids and first/last seen) and links."""

    identifiers: dict[Identifier, int]
    seen: dict[Identifier, tuple[Any, Any]]
    links: list[tuple[Identifier, Identifier, LinkEvidence]]


class RepairRepository:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def graph_rows(self, person_id: str) -> PersonGraphRows:
        i, lk = table(IdentifierRow).c, table(Link).c
        rows = self.session.execute(
            select(i.id, i.kind, i.scope, i.value, i.first_seen, i.last_seen).where(
                i.person_id == person_id
            )
        ).all()
        ids = {Identifier(k, s, v): row_id for row_id, k, s, v, _, _ in rows}
        seen = {Identifier(k, s, v): (f, last) for _, k, s, v, f, last in rows}
        by_row = {row_id: identifier for identifier, row_id in ids.items()}
        links = []
        if by_row:
            found = self.session.execute(
                select(lk.id, lk.source_id, lk.target_id, lk.first_seen, lk.last_seen,
                       lk.count, lk.channels, lk.first_message_id)
                .where(lk.source_id.in_(list(by_row)))
                .order_by(lk.id)
            )  # fmt: skip
            for link_id, source, target, first, last, count, channels, message in found:
                if target in by_row:
                    evidence = LinkEvidence(link_id, first, last, count, tuple(channels), message)
                    links.append((by_row[source], by_row[target], evidence))
        return PersonGraphRows(ids, seen, links)

    def aliases_of(self, person_id: str) -> list[str]:
        p = table(Person).c
        return list(
            self.session.execute(
                select(p.id).where(p.merged_into == person_id).order_by(p.id)
            ).scalars()
        )

    def move_identifiers(self, row_ids: Collection[int], person_id: str) -> None:
        i = table(IdentifierRow).c
        self.session.execute(
            update(table(IdentifierRow)).where(i.id.in_(list(row_ids))).values(person_id=person_id)
        )

    def delete_links(self, link_ids: Collection[int]) -> None:
        if link_ids:
            lk = table(Link).c
            self.session.execute(delete(table(Link)).where(lk.id.in_(list(link_ids))))

    def delete_identifiers(self, row_ids: Collection[int]) -> int:
        """Delete identifiers and every link that touches them; the links deleted."""
        ids = list(row_ids)
        if not ids:
            return 0
        lk, i = table(Link).c, table(IdentifierRow).c
        touching = or_(lk.source_id.in_(ids), lk.target_id.in_(ids))
        links = self._count(select(func.count()).where(touching))
        self.session.execute(delete(table(Link)).where(touching))
        self.session.execute(delete(table(IdentifierRow)).where(i.id.in_(ids)))
        return links

    def suppress(self, keys: Collection[str], now: Any) -> None:
        rows = [{"workspace_id": self.workspace_id, "key_hash": k, "created_at": now}
                for k in sorted(keys)]  # fmt: skip
        upsert(self.session, table(Suppression), rows, keys=["workspace_id", "key_hash"])

    # -- erasure ------------------------------------------------------------------------
    def erasure_counts(self, person_ids: Sequence[str], row_ids: Collection[int]) -> dict[str, int]:
        """How many rows an erasure of these persons would delete, table by table."""
        ids, rows = list(person_ids), list(row_ids)
        lk = table(Link).c
        counts = {
            "links": self._count(
                select(func.count()).where(or_(lk.source_id.in_(rows), lk.target_id.in_(rows)))
            ),
            "messages": self._count(select(func.count()).where(*self._messages_of(ids))),
            "history": self._count(
                select(func.count()).where(
                    History.workspace_id == self.workspace_id, History.person_id.in_(ids)
                )
            ),
        }
        for name, model in (("traits", PersonTrait), ("tags", PersonTag),
                            ("channels", PersonChannel)):  # fmt: skip
            counts[name] = self._count(select(func.count()).where(model.person_id.in_(ids)))
        return counts

    def erase(self, person_ids: Sequence[str], identifiers: Mapping[Identifier, int]) -> None:
        """Delete the persons (the live one and its aliases) and all that hangs on them,
        including the junk-candidate counts of their identifiers' values."""
        ids = list(person_ids)
        self.delete_identifiers(identifiers.values())
        c = table(Contested).c
        groups: dict[tuple[str, str], list[str]] = {}
        for identifier in identifiers:
            groups.setdefault((identifier.kind, identifier.scope), []).append(identifier.value)
        for (kind, scope), values in groups.items():  # each group searches the key's index
            for chunk in _chunks(values):
                self.session.execute(
                    delete(table(Contested)).where(
                        c.workspace_id == self.workspace_id, c.kind == kind, c.scope == scope,
                        c.value.in_(chunk),
                    )
                )  # fmt: skip
        self.session.execute(delete(Message).where(*self._messages_of(ids)))
        self.session.execute(
            delete(History).where(
                History.workspace_id == self.workspace_id, History.person_id.in_(ids)
            )
        )
        for model in (PersonTrait, PersonTag, PersonChannel):
            self.session.execute(delete(model).where(model.person_id.in_(ids)))
        self.session.execute(
            delete(Hold).where(or_(Hold.person_a.in_(ids), Hold.person_b.in_(ids)))
        )
        self.session.execute(delete(Person).where(Person.id.in_(ids)))

    def _messages_of(self, person_ids: list[str]) -> tuple[Any, ...]:
        # The stored first answers name the person and may echo its identifiers.
        return (
            Message.workspace_id == self.workspace_id,
            Message.response["person_id"].as_string().in_(person_ids),
        )

    def _count(self, query: Any) -> int:
        return int(self.session.execute(query).scalar_one())


def _chunks(items: list[Any], size: int = 400) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
