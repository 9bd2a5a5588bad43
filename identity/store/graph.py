"""SQL for the identity graph: identifiers, persons, links, holds, history."""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, bindparam, case, delete, insert, or_, select, text, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from identity.identifiers import Identifier
from identity.store.driver import Driver, in_list, list_size, listed
from identity.store.models import Base, History, Hold, IdentifierRow, Link, Person, table
from identity.store.upsert import connection_of, upsert

__all__ = ["GraphRepository", "Owned", "PersonRow", "Snapshot", "find_owners"]

_CHUNK = 256  # bound the size of IN (...) lists
_BRANCHES = 64  # and the number of UNION ALL branches (SQLite allows 500)
_ADDED = 16  # identifiers inserted by one statement


@dataclass
class PersonRow:
    id: str
    created_at: datetime
    merged_into: str | None
    activity: list[int]
    channel_set: str | None = None  # as stored (``profiles.channel_set``)


@dataclass
class Owned:
    """The persons that own some of an observation's identifiers, as they stand."""

    owners: dict[Identifier, tuple[int, str]]  # identifier -> (row id, person id)
    persons: dict[str, PersonRow]
    members: dict[str, list[tuple[int, Identifier]]]


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
        self._driver: Driver | None = None

    # -- reads --------------------------------------------------------------------------
    def owners(self, identifiers: Sequence[Identifier]) -> dict[Identifier, tuple[int, str]]:
        """``identifier -> (row id, person id)`` for those that exist."""
        return find_owners(self._db(), self.workspace_id, identifiers)

    def owned(self, identifiers: Sequence[Identifier]) -> Owned:
        """The persons owning any of ``identifiers`` with all their identifiers, read
        under the transaction's lock: on SQLite (serial) in one statement; on PostgreSQL
        the owners, then their persons locked ``FOR UPDATE`` in id order, then their
        identifiers as they stand once the locks are held."""
        lookups = _owner_lookups(self.workspace_id, identifiers)
        if not self.sqlite or len(lookups) != 1:
            owners = self.owners(identifiers)
            person_ids = {person for _, person in owners.values()}
            return Owned(owners, self.persons(person_ids, lock=True), self.members(person_ids))
        sizes, params = lookups[0]
        wanted = set(identifiers)
        owned = Owned({}, {}, defaultdict(list))
        for row_id, kind, scope, value, person_id, *person in self._db().rows(
            _owned_query(sizes), params
        ):
            identifier = Identifier(kind, scope, value)
            owned.members[person_id].append((row_id, identifier))
            if identifier in wanted:
                owned.owners[identifier] = (row_id, person_id)
            if person_id not in owned.persons:
                owned.persons[person_id] = PersonRow(person_id, *person)
        return owned

    def persons(self, person_ids: Collection[str], lock: bool = False) -> dict[str, PersonRow]:
        """Person rows, locked ``FOR UPDATE`` in id order when asked (PostgreSQL)."""
        found: dict[str, PersonRow] = {}
        ids = sorted(person_ids)
        for chunk in _chunks(ids):
            query = _persons_query(lock and not self.sqlite, list_size(len(chunk)))
            params = {"ws": self.workspace_id, **listed("p", chunk)}
            found.update((row[0], PersonRow(*row)) for row in self._db().rows(query, params))
        return found

    def members(self, person_ids: Collection[str]) -> dict[str, list[tuple[int, Identifier]]]:
        found: dict[str, list[tuple[int, Identifier]]] = defaultdict(list)
        for chunk in _chunks(list(person_ids)):
            query = _members_query(list_size(len(chunk)))
            for row_id, kind, scope, value, person_id in self._db().rows(query, listed("p", chunk)):
                found[person_id].append((row_id, Identifier(kind, scope, value)))
        return found

    def holds_among(self, person_ids: Collection[str]) -> set[frozenset[str]]:
        if len(person_ids) < 2:
            return set()
        ids = list(person_ids)
        rows = self._db().rows(_holds_among_query(list_size(len(ids))), listed("p", ids))
        return {frozenset(row) for row in rows}

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
    def create_person(
        self,
        person_id: str,
        now: datetime,
        activity: list[int] | None = None,
        channel_set: str | None = None,
    ) -> PersonRow:
        """A new person, with an empty profile unless ``activity`` and ``channel_set``
        (the stored form) are given."""
        activity = [0] * 24 if activity is None else activity
        self._db().run_many(_insert(Person), [{"id": person_id, "workspace_id": self.workspace_id,
                                               "created_at": now, "updated_at": now,
                                               "activity": activity,
                                               "channel_set": channel_set}])  # fmt: skip
        return PersonRow(person_id, now, None, activity, channel_set)

    def set_activity(self, person_id: str, activity: list[int], now: datetime) -> None:
        self._db().run(
            _activity_update(), {"b_id": person_id, "b_activity": activity, "b_now": now}
        )

    def set_profile_columns(
        self, person_id: str, activity: list[int], channel_set: str | None, now: datetime
    ) -> None:
        """The activity and the channel set (the stored form) of a person, in one go."""
        params = {"b_id": person_id, "b_activity": activity, "b_channels": channel_set,
                  "b_now": now}  # fmt: skip
        self._db().run(_profile_columns_update(), params)

    def add_identifiers(
        self, person_id: str, identifiers: Sequence[Identifier], at: datetime
    ) -> dict[Identifier, int]:
        added: dict[Identifier, int] = {}
        for start in range(0, len(identifiers), _ADDED):
            part = identifiers[start : start + _ADDED]
            params: dict[str, Any] = {"ws": self.workspace_id, "person": person_id, "at": at}
            for n, i in enumerate(part):
                params.update({f"k{n}": i.kind, f"s{n}": i.scope, f"v{n}": i.value})
            for row_id, k, s, v in self._db().rows(_identifiers_insert(len(part)), params):
                added[Identifier(k, s, v)] = row_id
        return added

    def touch_identifiers(self, row_ids: Collection[int], at: datetime) -> None:
        for chunk in _chunks(list(row_ids)):
            self._db().run(_touch_update(list_size(len(chunk))), {"at": at, **listed("i", chunk)})

    def record_links(
        self,
        source: int,
        targets: Sequence[int],
        at: datetime,
        channel: str | None,
        message_id: str | None,
    ) -> None:
        """Add or strengthen the links from ``source`` to each target: a new link starts
        with this observation as its evidence; a known one counts it, widens its first
        and last seen and gains the channel."""
        fresh_channels = [channel] if channel else []
        rows = [
            {"workspace_id": self.workspace_id, "source_id": source, "target_id": target,
             "first_seen": at, "last_seen": at, "count": 1, "channels": fresh_channels,
             "first_message_id": message_id, "channel": channel}
            for target in targets
        ]  # fmt: skip
        self._db().run_many(_link_upsert(self.sqlite), rows)

    def absorb_persons(self, survivor: str, absorbed: Sequence[str], now: datetime) -> None:
        """Move the absorbed persons' identifiers and holds to the survivor; keep their
        ids as aliases that point straight at it."""
        ids = list(absorbed)
        size, listed_ids = list_size(len(ids)), listed("a", ids)
        db = self._db()
        db.run(_identifiers_move(size), {"survivor": survivor, **listed_ids})
        db.run(_persons_alias(size), {"survivor": survivor, "now": now, **listed_ids})
        holds = db.rows(_holds_delete(size), listed_ids)
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
        self._db().run_many(_insert(History), rows)

    def _run(self, statement: Executable, params: Any = None) -> Any:
        if self._connection is None:
            self._connection = connection_of(self.session)
        return self._connection.execute(statement, params)

    def _db(self) -> Driver:
        if self._driver is None:
            if self._connection is None:
                self._connection = connection_of(self.session)
            self._driver = Driver(self._connection)
        return self._driver


def find_owners(
    db: Driver, workspace_id: int, identifiers: Sequence[Identifier]
) -> dict[Identifier, tuple[int, str]]:
    """``identifier -> (row id, person id)`` for those of ``identifiers`` that exist in
    the workspace.

    One ``kind = ? AND scope = ? AND value IN (...)`` branch per (kind, scope), joined
    by ``UNION ALL``: each branch searches the unique index, where a row-value ``IN``
    over several identifiers makes SQLite scan the workspace's identifiers.
    """
    found: dict[Identifier, tuple[int, str]] = {}
    for sizes, params in _owner_lookups(workspace_id, identifiers):
        for row_id, kind, scope, value, person_id in db.rows(_owners_query(sizes), params):
            found[Identifier(kind, scope, value)] = (row_id, person_id)
    return found


def _owner_lookups(
    workspace_id: int, identifiers: Sequence[Identifier]
) -> list[tuple[tuple[int, ...], dict[str, Any]]]:
    """The shapes and parameters of the owners queries for ``identifiers``."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for identifier in identifiers:
        groups[identifier.kind, identifier.scope].append(identifier.value)
    branches = [(kind, scope, chunk) for (kind, scope), values in groups.items()
                for chunk in _chunks(values)]  # fmt: skip
    lookups = []
    for start in range(0, len(branches), _BRANCHES):
        part = branches[start : start + _BRANCHES]
        params: dict[str, Any] = {"ws": workspace_id}
        for n, (kind, scope, values) in enumerate(part):
            params.update({f"k{n}": kind, f"s{n}": scope, **listed(f"v{n}_", values)})
        lookups.append((tuple(list_size(len(values)) for _, _, values in part), params))
    return lookups


# Statements are built once (and so compiled once per dialect); bind parameters named
# ``b_*`` stand for values that share a column's name.
@functools.cache
def _insert(model: type[Base]) -> Executable:
    return insert(table(model))


@functools.lru_cache(maxsize=64)
def _persons_query(lock: bool, size: int) -> Executable:
    t = table(Person).c
    query = (
        select(t.id, t.created_at, t.merged_into, t.activity, t.channel_set)
        .where(t.workspace_id == bindparam("ws"), in_list(t.id, "p", size))
        .order_by(t.id)
    )
    return query.with_for_update() if lock else query


@functools.lru_cache(maxsize=64)
def _members_query(size: int) -> Executable:
    t = table(IdentifierRow).c
    return select(t.id, t.kind, t.scope, t.value, t.person_id).where(
        in_list(t.person_id, "p", size)
    )


@functools.lru_cache(maxsize=512)
def _owned_query(sizes: tuple[int, ...]) -> Executable:
    """The identifiers of the persons that :func:`_owners_query` finds, each with its
    person's row (SQLite: read under the write lock, so one statement is enough)."""
    i, p = table(IdentifierRow), table(Person)
    owners = cast(Select[Any], _owners_query(sizes)).subquery()
    return (
        select(i.c.id, i.c.kind, i.c.scope, i.c.value, i.c.person_id,
               p.c.created_at, p.c.merged_into, p.c.activity, p.c.channel_set)
        .select_from(i.join(p, p.c.id == i.c.person_id))
        .where(i.c.person_id.in_(select(owners.c.person_id)))
    )  # fmt: skip


@functools.lru_cache(maxsize=64)
def _holds_among_query(size: int) -> Executable:
    t = table(Hold).c
    return select(t.person_a, t.person_b).where(
        in_list(t.person_a, "p", size), in_list(t.person_b, "p", size)
    )


@functools.cache
def _activity_update() -> Executable:
    t = table(Person).c
    return (
        update(table(Person))
        .where(t.id == bindparam("b_id"))
        .values(activity=bindparam("b_activity"), updated_at=bindparam("b_now"))
    )


@functools.lru_cache(maxsize=16)
def _identifiers_move(size: int) -> Executable:
    t = table(IdentifierRow).c
    return (
        update(table(IdentifierRow))
        .where(in_list(t.person_id, "a", size))
        .values(person_id=bindparam("survivor"))
    )


@functools.lru_cache(maxsize=16)
def _persons_alias(size: int) -> Executable:
    t = table(Person).c
    now = bindparam("now", type_=t.updated_at.type)
    return (
        update(table(Person))
        .where(or_(in_list(t.id, "a", size), in_list(t.merged_into, "a", size)))
        .values(merged_into=bindparam("survivor"), merged_at=now, updated_at=now)
    )


@functools.lru_cache(maxsize=16)
def _holds_delete(size: int) -> Executable:
    """Delete the holds of the persons ``a<n>``, returning them."""
    t = table(Hold)
    touching = or_(in_list(t.c.person_a, "a", size), in_list(t.c.person_b, "a", size))
    return delete(t).where(touching).returning(t.c.person_a, t.c.person_b)


@functools.cache
def _profile_columns_update() -> Executable:
    t = table(Person).c
    return (
        update(table(Person))
        .where(t.id == bindparam("b_id"))
        .values(activity=bindparam("b_activity"), channel_set=bindparam("b_channels"),
                updated_at=bindparam("b_now"))
    )  # fmt: skip


@functools.lru_cache(maxsize=_ADDED)
def _identifiers_insert(count: int) -> Executable:
    """An insert of ``count`` identifiers of one person (``k<n>``, ``s<n>``, ``v<n>``)."""
    t = table(IdentifierRow)
    ws: Any = bindparam("ws")
    person: Any = bindparam("person")
    at: Any = bindparam("at")
    rows: list[dict[str, Any]] = [
        {"workspace_id": ws, "kind": bindparam(f"k{n}"), "scope": bindparam(f"s{n}"),
         "value": bindparam(f"v{n}"), "person_id": person, "first_seen": at, "last_seen": at}
        for n in range(count)
    ]  # fmt: skip
    return insert(t).values(rows).returning(t.c.id, t.c.kind, t.c.scope, t.c.value)


@functools.lru_cache(maxsize=64)
def _touch_update(size: int) -> Executable:
    t = table(IdentifierRow).c
    at = bindparam("at", type_=t.last_seen.type)
    return (
        update(table(IdentifierRow))
        .where(in_list(t.id, "i", size), or_(t.last_seen < at, t.first_seen > at))
        .values(
            last_seen=case((t.last_seen < at, at), else_=t.last_seen),
            first_seen=case((t.first_seen > at, at), else_=t.first_seen),
        )
    )


# A known link gains the observation's channel (``:channel``, may be null) at the end of
# its list unless it has it already: JSON functions differ between the two backends.
_GAIN_CHANNEL = {
    True: "CASE WHEN :channel IS NULL OR EXISTS (SELECT 1 FROM json_each(links.channels) "
    "WHERE json_each.value = :channel) THEN links.channels "
    "ELSE json_insert(links.channels, '$[#]', :channel) END",
    False: "CASE WHEN CAST(:channel AS TEXT) IS NULL "
    "OR CAST(links.channels AS JSONB) @> jsonb_build_array(CAST(:channel AS TEXT)) "
    "THEN links.channels ELSE CAST(CAST(links.channels AS JSONB) "
    "|| jsonb_build_array(CAST(:channel AS TEXT)) AS JSON) END",
}


@functools.cache
def _link_upsert(sqlite_backend: bool) -> Executable:
    """Insert a link, or strengthen the one there is (rows carry ``channel`` too)."""
    t = table(Link)
    statement = (sqlite if sqlite_backend else postgresql).insert(t)
    new = statement.excluded
    earliest, latest = ("min", "max") if sqlite_backend else ("least", "greatest")
    upsert: Executable = statement.on_conflict_do_update(
        index_elements=["source_id", "target_id"],
        set_={
            "count": t.c.count + new.count,
            "first_seen": text(f"{earliest}(links.first_seen, excluded.first_seen)"),
            "last_seen": text(f"{latest}(links.last_seen, excluded.last_seen)"),
            "channels": text(_GAIN_CHANNEL[sqlite_backend]),
        },
    )
    return upsert


@functools.lru_cache(maxsize=512)
def _owners_query(sizes: tuple[int, ...]) -> Executable:
    """The lookup of :func:`find_owners`, built once per shape: one branch per
    (kind, scope) group with parameters ``ws``, ``k<n>``, ``s<n>`` and ``sizes[n]``
    values ``v<n>_<j>``."""
    t = table(IdentifierRow).c
    selects = [
        select(t.id, t.kind, t.scope, t.value, t.person_id).where(
            t.workspace_id == bindparam("ws"),
            t.kind == bindparam(f"k{n}"),
            t.scope == bindparam(f"s{n}"),
            in_list(t.value, f"v{n}_", size),
        )
        for n, size in enumerate(sizes)
    ]
    return selects[0] if len(selects) == 1 else union_all(*selects)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
