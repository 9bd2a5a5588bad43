"""The statements of :mod:`identity.store.graph`, each built once per shape (and so
compiled once per dialect); bind parameters named ``b_*`` stand for values that share a
column's name."""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import Select, bindparam, case, delete, insert, or_, select, text, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from identity.store.driver import in_list
from identity.store.models import Base, Hold, IdentifierRow, Link, Person, table

ADDED = 16  # identifiers inserted by one statement


@functools.cache
def insert_into(model: type[Base]) -> Executable:
    return insert(table(model))


@functools.lru_cache(maxsize=64)
def persons_query(lock: bool, size: int) -> Executable:
    t = table(Person).c
    query = (
        select(t.id, t.created_at, t.merged_into, t.activity, t.channel_set)
        .where(t.workspace_id == bindparam("ws"), in_list(t.id, "p", size))
        .order_by(t.id)
    )
    return query.with_for_update() if lock else query


@functools.lru_cache(maxsize=64)
def members_query(size: int) -> Executable:
    t = table(IdentifierRow).c
    return select(t.id, t.kind, t.scope, t.value, t.person_id).where(
        in_list(t.person_id, "p", size)
    )


@functools.lru_cache(maxsize=512)
def owned_query(sizes: tuple[int, ...]) -> Executable:
    """The identifiers of the persons that :func:`owners_query` finds, each with its
    person's row (SQLite: read under the write lock, so one statement is enough)."""
    i, p = table(IdentifierRow), table(Person)
    owners = cast(Select[Any], owners_query(sizes)).subquery()
    return (
        select(i.c.id, i.c.kind, i.c.scope, i.c.value, i.c.person_id,
               p.c.created_at, p.c.merged_into, p.c.activity, p.c.channel_set)
        .select_from(i.join(p, p.c.id == i.c.person_id))
        .where(i.c.person_id.in_(select(owners.c.person_id)))
    )  # fmt: skip


@functools.lru_cache(maxsize=64)
def holds_among_query(size: int) -> Executable:
    t = table(Hold).c
    return select(t.person_a, t.person_b).where(
        in_list(t.person_a, "p", size), in_list(t.person_b, "p", size)
    )


@functools.cache
def activity_update() -> Executable:
    t = table(Person).c
    return (
        update(table(Person))
        .where(t.id == bindparam("b_id"))
        .values(activity=bindparam("b_activity"), updated_at=bindparam("b_now"))
    )


@functools.lru_cache(maxsize=16)
def identifiers_move(size: int) -> Executable:
    t = table(IdentifierRow).c
    return (
        update(table(IdentifierRow))
        .where(in_list(t.person_id, "a", size))
        .values(person_id=bindparam("survivor"))
    )


@functools.lru_cache(maxsize=16)
def persons_alias(size: int) -> Executable:
    t = table(Person).c
    now = bindparam("now", type_=t.updated_at.type)
    return (
        update(table(Person))
        .where(or_(in_list(t.id, "a", size), in_list(t.merged_into, "a", size)))
        .values(merged_into=bindparam("survivor"), merged_at=now, updated_at=now)
    )


@functools.lru_cache(maxsize=16)
def holds_delete(size: int) -> Executable:
    """Delete the holds of the persons ``a<n>``, returning them."""
    t = table(Hold)
    touching = or_(in_list(t.c.person_a, "a", size), in_list(t.c.person_b, "a", size))
    return delete(t).where(touching).returning(t.c.person_a, t.c.person_b)


@functools.cache
def profile_columns_update() -> Executable:
    t = table(Person).c
    return (
        update(table(Person))
        .where(t.id == bindparam("b_id"))
        .values(activity=bindparam("b_activity"), channel_set=bindparam("b_channels"),
                updated_at=bindparam("b_now"))
    )  # fmt: skip


@functools.lru_cache(maxsize=ADDED)
def identifiers_insert(count: int) -> Executable:
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
def touch_update(size: int) -> Executable:
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
def link_upsert(sqlite_backend: bool) -> Executable:
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
def owners_query(sizes: tuple[int, ...]) -> Executable:
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
