"""SQL for the identity graph: identifiers, persons, links, holds, history."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from identity.identifiers import Identifier
from identity.store import graph_sql as sql
from identity.store.driver import Driver, list_size, listed
from identity.store.models import History, Hold, Person, table
from identity.store.upsert import connection_of, upsert

__all__ = ["GraphRepository", "Owned", "PersonRow", "Snapshot", "find_owners"]

_CHUNK = 256  # bound the size of IN (...) lists
_BRANCHES = 64  # and the number of UNION ALL branches (SQLite allows 500)


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
            sql.owned_query(sizes), params
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
            query = sql.persons_query(lock and not self.sqlite, list_size(len(chunk)))
            params = {"ws": self.workspace_id, **listed("p", chunk)}
            found.update((row[0], PersonRow(*row)) for row in self._db().rows(query, params))
        return found

    def members(self, person_ids: Collection[str]) -> dict[str, list[tuple[int, Identifier]]]:
        found: dict[str, list[tuple[int, Identifier]]] = defaultdict(list)
        for chunk in _chunks(list(person_ids)):
            query = sql.members_query(list_size(len(chunk)))
            for row_id, kind, scope, value, person_id in self._db().rows(query, listed("p", chunk)):
                found[person_id].append((row_id, Identifier(kind, scope, value)))
        return found

    def holds_among(self, person_ids: Collection[str]) -> set[frozenset[str]]:
        if len(person_ids) < 2:
            return set()
        ids = list(person_ids)
        rows = self._db().rows(sql.holds_among_query(list_size(len(ids))), listed("p", ids))
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
        row = {"id": person_id, "workspace_id": self.workspace_id, "created_at": now,
               "updated_at": now, "activity": activity, "channel_set": channel_set}  # fmt: skip
        self._db().run_many(sql.insert_into(Person), [row])
        return PersonRow(person_id, now, None, activity, channel_set)

    def set_activity(self, person_id: str, activity: list[int], now: datetime) -> None:
        self._db().run(
            sql.activity_update(), {"b_id": person_id, "b_activity": activity, "b_now": now}
        )

    def set_profile_columns(
        self, person_id: str, activity: list[int], channel_set: str | None, now: datetime
    ) -> None:
        """The activity and the channel set (the stored form) of a person, in one go."""
        params = {"b_id": person_id, "b_activity": activity, "b_channels": channel_set,
                  "b_now": now}  # fmt: skip
        self._db().run(sql.profile_columns_update(), params)

    def add_identifiers(
        self, person_id: str, identifiers: Sequence[Identifier], at: datetime
    ) -> dict[Identifier, int]:
        added: dict[Identifier, int] = {}
        for start in range(0, len(identifiers), sql.ADDED):
            part = identifiers[start : start + sql.ADDED]
            params: dict[str, Any] = {"ws": self.workspace_id, "person": person_id, "at": at}
            for n, i in enumerate(part):
                params.update({f"k{n}": i.kind, f"s{n}": i.scope, f"v{n}": i.value})
            for row_id, k, s, v in self._db().rows(sql.identifiers_insert(len(part)), params):
                added[Identifier(k, s, v)] = row_id
        return added

    def touch_identifiers(self, row_ids: Collection[int], at: datetime) -> None:
        for chunk in _chunks(list(row_ids)):
            self._db().run(
                sql.touch_update(list_size(len(chunk))), {"at": at, **listed("i", chunk)}
            )

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
        self._db().run_many(sql.link_upsert(self.sqlite), rows)

    def absorb_persons(self, survivor: str, absorbed: Sequence[str], now: datetime) -> None:
        """Move the absorbed persons' identifiers and holds to the survivor; keep their
        ids as aliases that point straight at it."""
        ids = list(absorbed)
        size, listed_ids = list_size(len(ids)), listed("a", ids)
        db = self._db()
        db.run(sql.identifiers_move(size), {"survivor": survivor, **listed_ids})
        db.run(sql.persons_alias(size), {"survivor": survivor, "now": now, **listed_ids})
        holds = db.rows(sql.holds_delete(size), listed_ids)
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
        self._db().run_many(sql.insert_into(History), rows)

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
        for row_id, kind, scope, value, person_id in db.rows(sql.owners_query(sizes), params):
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


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
