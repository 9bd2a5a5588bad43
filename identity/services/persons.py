"""Read use cases: resolve identifiers, read a person's profile."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select

from identity.errors import IdentifierNotFound, InvalidInput, PersonNotFound
from identity.identifiers import Identifier
from identity.observation import RawIdentifier, screen
from identity.profile import peak_hours
from identity.resolution import strength_key
from identity.services.context import WorkspaceContext, identifier_document
from identity.services.transactions import lookup, read
from identity.store.graph import GraphRepository, find_owners
from identity.store.models import IdentifierRow, Person, table
from identity.store.profiles import ProfileRepository
from identity.store.uow import Store, UnitOfWork

__all__ = ["PROFILE_PARTS", "get_person", "resolve"]

PROFILE_PARTS = ("identifiers", "traits", "tags", "channels", "activity")


def resolve(store: Store, ws: WorkspaceContext, raw: Sequence[RawIdentifier]) -> dict[str, Any]:
    """The person of the strongest known identifier; never creates anything.

    Invalid identifiers are an error (422); blocked ones cannot match and are skipped.
    """
    screened = screen(raw, ws.policy, ws.hasher)
    if screened.rejected:
        raise InvalidInput(
            "invalid identifiers",
            {f"identifiers.{n.index}": f"{n.kind}: {n.reason}" for n in screened.rejected},
        )
    candidates = sorted(screened.accepted, key=strength_key(ws.policy))

    owners = lookup(store, lambda db: find_owners(db, ws.id, candidates))
    for identifier in candidates:
        if identifier in owners:
            return {"person_id": owners[identifier][1],
                    "matched": identifier_document(identifier)}  # fmt: skip
    raise IdentifierNotFound("none of the identifiers is known")


def get_person(
    store: Store,
    ws: WorkspaceContext,
    person_id: str,
    include: Collection[str] | None = None,
) -> dict[str, Any]:
    """The profile ("data bank") of a person; an alias answers with its survivor.

    ``include`` names the parts of :data:`PROFILE_PARTS` to return (``None``: all).
    """
    parts = frozenset(PROFILE_PARTS if include is None else include)
    unknown = sorted(parts - set(PROFILE_PARTS))
    if unknown:
        raise InvalidInput(
            "unknown profile parts",
            {"include": f"unknown: {', '.join(unknown)}; known: {', '.join(PROFILE_PARTS)}"},
        )
    document = read(store, lambda uow: _person_document(uow, ws, person_id, parts))
    return {k: v for k, v in document.items() if k in parts or k not in PROFILE_PARTS}


def _person_document(
    uow: UnitOfWork, ws: WorkspaceContext, person_id: str, parts: frozenset[str]
) -> dict[str, Any]:
    graph = GraphRepository(uow.session, ws.id, uow.sqlite)
    live = graph.live_person_id(person_id)
    if live is None:
        raise PersonNotFound(f"no person {person_id} in this workspace")
    person = uow.session.get(Person, live)
    assert person is not None
    profile = ProfileRepository(uow.session, ws.id).load(
        {live: person.activity},
        traits=None if "traits" in parts else (),
        tags=None if "tags" in parts else (),
        channels=None if "channels" in parts else (),
    )[live]
    t = table(IdentifierRow).c
    identifiers: Any = (
        uow.session.execute(
            select(t.kind, t.scope, t.value, t.first_seen, t.last_seen)
            .where(t.person_id == live)
            .order_by(t.kind, t.scope, t.value)
        )
        if "identifiers" in parts
        else []
    )
    aliases = uow.session.execute(
        select(Person.id).where(Person.merged_into == live).order_by(Person.id)
    ).scalars()
    return {
        "person_id": live,
        "created_at": person.created_at,
        "updated_at": person.updated_at,
        "aliases": list(aliases),
        "identifiers": [
            {**identifier_document(Identifier(k, s, v)), "first_seen": f, "last_seen": last}
            for k, s, v, f, last in identifiers
        ],
        "traits": {
            name: {"value": t.value, "updated_at": t.updated_at, "source": t.source}
            for name, t in sorted(profile.traits.items())
        },
        "tags": _seen_table(profile.tags),
        "channels": _seen_table(profile.channels),
        "activity": {
            "timezone": ws.policy.timezone,
            "hours": profile.activity,
            "peak_hours": peak_hours(profile.activity),
        },
    }


def _seen_table(entries: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"count": s.count, "first_seen": s.first_seen, "last_seen": s.last_seen}
        for name, s in sorted(entries.items())
    }
