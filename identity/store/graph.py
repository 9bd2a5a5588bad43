"""SQL for the identity graph: identifiers, persons, links, holds, history."""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, insert, or_, select, union_all, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from identity.identifiers import Identifier
from identity.store.models import Base, History, Hold, IdentifierRow, Link, Person, table
from identity.store.upsert import connection_of, upsert

__all__ = ["GraphRepository", "PersonRow", "Snapshot"]

_CHUNK = 400  # bound the size of IN (...) lists
_LISTED = 4  # up to this many values of a group are bound one by one
_BRANCHES = 100  # and the number of UNION ALL branches (SQLite allows 500)


@dataclass
class PersonRow:
    id: str
    created_at: datetime
    merged_into: str | None
    activity: list[int]


class Snapshot:
    """The part of the graph an observation can touch, read under lock: a GraphView."""

    def __init__(
        self,
        owners: dict[Identifier, str],
        members: dict[str, list[Identifier]],
        persons: dict[str, PersonRow],
        holds: set[frozenset[str]],
    ) -> None:
        self._owners, self._members, self._persons, self._holds = owners, members, persons, holds

    def owner(self, identifier: Identifier) -> str | None:
        return self._owners.get(identifier)

    def identifiers_of(self, person_id: str) -> Collection[Identifier]:
        return self._members.get(person_id, ())

    def age_key(self, person_id: str) -> tuple[datetime, str]:
        return (self._persons[person_id].created_at, person_id)

    def held_apart(self, person_ids: Collection[str]) -> bool:
        return any(frozenset(p) in self._holds for p in itertools.combinations(person_ids, 2))


class GraphRepository:
    def __init__(self, session: Session | Connection, workspace_id: int, sqlite: bool) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.sqlite = sqlite
        self._connection: Connection | None = None

    # -- reads --------------------------------------------------------------------------
    def owners(self, identifiers: Sequence[Identifier]) -> dict[Identifier, tuple[int, str]]:
        """``identifier -> (row id, person id)`` for those that exist.

        One ``kind = ? AND scope = ? AND value IN (...)`` branch per (kind, scope), joined
        by ``UNION ALL``: each branch searches the unique index, where a row-value ``IN``
        over several identifiers makes SQLite scan the workspace's identifiers.
        """
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for identifier in identifiers:
            groups[identifier.kind, identifier.scope].append(identifier.value)
        branches = [(kind, scope, chunk) for (kind, scope), values in groups.items()
                    for chunk in _chunks(values)]  # fmt: skip
        found: dict[Identifier, tuple[int, str]] = {}
        for start in range(0, len(branches), _BRANCHES):
            part = branches[start : start + _BRANCHES]
            params: dict[str, Any] = {"ws": self.workspace_id}
            for n, (kind, scope, values) in enumerate(part):
                params.update({f"k{n}": kind, f"s{n}": scope})
                if len(values) > _LISTED:
                    params[f"v{n}"] = values
                else:
                    params.update({f"v{n}_{j}": value for j, value in enumerate(values)})
            sizes = tuple(len(values) if len(values) <= _LISTED else 0 for _, _, values in part)
            for row_id, kind, scope, value, person_id in self._run(_owners_query(sizes), params):
                found[Identifier(kind, scope, value)] = (row_id, person_id)
        return found

    def persons(self, person_ids: Collection[str], lock: bool = False) -> dict[str, PersonRow]:
        """Person rows, locked ``FOR UPDATE`` in id order when asked (PostgreSQL)."""
        if not person_ids:
            return {}
        rows = self._run(
            _persons_query(lock and not self.sqlite),
            {"ws": self.workspace_id, "ids": sorted(person_ids)},
        )
        return {row.id: PersonRow(*row) for row in rows}

    def members(self, person_ids: Collection[str]) -> dict[str, list[tuple[int, Identifier]]]:
        found: dict[str, list[tuple[int, Identifier]]] = defaultdict(list)
        if person_ids:
            rows = self._run(_members_query(), {"ids": list(person_ids)})
            for row_id, kind, scope, value, person_id in rows:
                found[person_id].append((row_id, Identifier(kind, scope, value)))
        return found

    def holds_among(self, person_ids: Collection[str]) -> set[frozenset[str]]:
        if len(person_ids) < 2:
            return set()
        ids = list(person_ids)
        return {frozenset(row) for row in self._run(_holds_query(), {"a": ids, "b": ids})}

    def live_person_id(self, person_id: str) -> str | None:
        """The survivor an id stands for (itself when live); ``None`` when unknown."""
        t = table(Person).c
        row = self.session.execute(
            select(t.id, t.merged_into).where(
                t.workspace_id == self.workspace_id, t.id == person_id
            )
        ).first()
        if row is None:
            return None
        return str(row.merged_into or row.id)

    # -- writes -------------------------------------------------------------------------
    def create_person(self, person_id: str, now: datetime) -> PersonRow:
        activity = [0] * 24
        self._run(_insert(Person), [{"id": person_id, "workspace_id": self.workspace_id,
                                      "created_at": now, "updated_at": now,
                                      "activity": activity}])  # fmt: skip
        return PersonRow(person_id, now, None, activity)

    def set_activity(self, person_id: str, activity: list[int], now: datetime) -> None:
        self._run(_activity_update(), {"b_id": person_id, "b_activity": activity, "b_now": now})

    def add_identifiers(
        self, person_id: str, identifiers: Sequence[Identifier], at: datetime
    ) -> dict[Identifier, int]:
        if not identifiers:
            return {}
        rows = [
            {"workspace_id": self.workspace_id, "kind": i.kind, "scope": i.scope,
             "value": i.value, "person_id": person_id, "first_seen": at, "last_seen": at}
            for i in identifiers
        ]  # fmt: skip
        result = self._run(_identifiers_insert(), rows)
        return {Identifier(k, s, v): row_id for row_id, k, s, v in result}

    def touch_identifiers(self, row_ids: Collection[int], at: datetime) -> None:
        if row_ids:
            self._run(_touch_update(), {"ids": list(row_ids), "at": at})

    def record_links(
        self,
        source: int,
        targets: Sequence[int],
        at: datetime,
        channel: str | None,
        message_id: str | None,
    ) -> None:
        """Add or strengthen the links from ``source`` to each target."""
        if not targets:
            return
        existing = {
            row.target_id: row
            for row in self._run(_links_query(), {"source": source, "targets": list(targets)})
        }
        fresh = [
            {"workspace_id": self.workspace_id, "source_id": source, "target_id": target,
             "first_seen": at, "last_seen": at, "count": 1,
             "channels": [channel] if channel else [], "first_message_id": message_id}
            for target in targets if target not in existing
        ]  # fmt: skip
        if fresh:
            self._run(_insert(Link), fresh)
        changes = []
        for row in existing.values():
            channels = list(row.channels)
            if channel and channel not in channels:
                channels.append(channel)
            changes.append({"b_id": row.id, "b_count": row.seen + 1, "b_channels": channels,
                            "b_first": min(row.first_seen, at),
                            "b_last": max(row.last_seen, at)})  # fmt: skip
        if changes:
            self._run(_link_update(), changes)

    def absorb_persons(self, survivor: str, absorbed: Sequence[str], now: datetime) -> None:
        """Move the absorbed persons' identifiers and holds to the survivor; keep their
        ids as aliases that point straight at it."""
        ids = list(absorbed)
        p, i, h = table(Person).c, table(IdentifierRow).c, table(Hold)
        self.session.execute(
            update(table(IdentifierRow)).where(i.person_id.in_(ids)).values(person_id=survivor)
        )
        self.session.execute(
            update(table(Person))
            .where(or_(p.id.in_(ids), p.merged_into.in_(ids)))
            .values(merged_into=survivor, merged_at=now, updated_at=now)
        )
        holds = self.session.execute(
            select(h.c.person_a, h.c.person_b).where(
                or_(h.c.person_a.in_(ids), h.c.person_b.in_(ids))
            )
        ).all()
        if holds:
            self.session.execute(delete(h).where(or_(h.c.person_a.in_(ids), h.c.person_b.in_(ids))))
            moved = {frozenset(survivor if x in ids else x for x in pair) for pair in holds}
            for pair in moved:
                if len(pair) == 2:
                    a, b = sorted(pair)
                    self.hold_apart(a, b, now)

    def hold_apart(self, a: str, b: str, now: datetime) -> None:
        a, b = sorted((a, b))
        upsert(self.session, table(Hold),
               [{"person_a": a, "person_b": b, "workspace_id": self.workspace_id,
                 "created_at": now}], keys=["person_a", "person_b"])  # fmt: skip

    def record_history(self, entries: Iterable[dict[str, Any]]) -> None:
        rows = [{"workspace_id": self.workspace_id, **entry} for entry in entries]
        if rows:
            self._run(_insert(History), rows)

    def _run(self, statement: Executable, params: Any = None) -> Any:
        if self._connection is None:
            self._connection = connection_of(self.session)
        return self._connection.execute(statement, params)


# Statements are built once (and so compiled once per dialect); bind parameters named
# ``b_*`` stand for values that share a column's name.
@functools.cache
def _insert(model: type[Base]) -> Executable:
    return insert(table(model))


@functools.cache
def _persons_query(lock: bool) -> Executable:
    t = table(Person).c
    query = (
        select(t.id, t.created_at, t.merged_into, t.activity)
        .where(t.workspace_id == bindparam("ws"), t.id.in_(bindparam("ids", expanding=True)))
        .order_by(t.id)
    )
    return query.with_for_update() if lock else query


@functools.cache
def _members_query() -> Executable:
    t = table(IdentifierRow).c
    return select(t.id, t.kind, t.scope, t.value, t.person_id).where(
        t.person_id.in_(bindparam("ids", expanding=True))
    )


@functools.cache
def _holds_query() -> Executable:
    t = table(Hold).c
    return select(t.person_a, t.person_b).where(
        t.person_a.in_(bindparam("a", expanding=True)),
        t.person_b.in_(bindparam("b", expanding=True)),
    )


@functools.cache
def _activity_update() -> Executable:
    t = table(Person).c
    return (
        update(table(Person))
        .where(t.id == bindparam("b_id"))
        .values(activity=bindparam("b_activity"), updated_at=bindparam("b_now"))
    )


@functools.cache
def _identifiers_insert() -> Executable:
    t = table(IdentifierRow)
    return insert(t).returning(t.c.id, t.c.kind, t.c.scope, t.c.value)


@functools.cache
def _touch_update() -> Executable:
    t = table(IdentifierRow).c
    at = bindparam("at", type_=t.last_seen.type)
    return (
        update(table(IdentifierRow))
        .where(t.id.in_(bindparam("ids", expanding=True)), or_(t.last_seen < at, t.first_seen > at))
        .values(
            last_seen=case((t.last_seen < at, at), else_=t.last_seen),
            first_seen=case((t.first_seen > at, at), else_=t.first_seen),
        )
    )


@functools.cache
def _links_query() -> Executable:
    t = table(Link).c
    return select(
        t.id, t.target_id, t.first_seen, t.last_seen, t.count.label("seen"), t.channels
    ).where(
        t.source_id == bindparam("source"), t.target_id.in_(bindparam("targets", expanding=True))
    )


@functools.cache
def _link_update() -> Executable:
    t = table(Link).c
    return (
        update(table(Link))
        .where(t.id == bindparam("b_id"))
        .values(count=bindparam("b_count"), first_seen=bindparam("b_first"),
                last_seen=bindparam("b_last"), channels=bindparam("b_channels"))
    )  # fmt: skip


@functools.lru_cache(maxsize=512)
def _owners_query(sizes: tuple[int, ...]) -> Executable:
    """The lookup of :meth:`GraphRepository.owners`, built once per shape: one branch per
    (kind, scope) group with parameters ``ws``, ``k<n>``, ``s<n>`` and its values, which
    are ``v<n>_<j>`` for the few of an online call (``sizes[n]`` of them: a plain
    statement), else the list ``v<n>`` (``sizes[n]`` 0: an expanding IN)."""
    t = table(IdentifierRow).c
    selects = []
    for n, size in enumerate(sizes):
        values = (
            t.value.in_(bindparam(f"v{n}", expanding=True))
            if size == 0
            else t.value.in_([bindparam(f"v{n}_{j}") for j in range(size)])
        )
        selects.append(
            select(t.id, t.kind, t.scope, t.value, t.person_id).where(
                t.workspace_id == bindparam("ws"),
                t.kind == bindparam(f"k{n}"),
                t.scope == bindparam(f"s{n}"),
                values,
            )
        )
    return selects[0] if len(selects) == 1 else union_all(*selects)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
