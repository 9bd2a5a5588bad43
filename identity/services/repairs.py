"""The operator's repairs: split, merge, unbind and erase, each one transaction.

Every repair locks the persons it changes (``FOR UPDATE`` in id order on PostgreSQL;
SQLite writers are serial) and re-checks them under the lock, so it interleaves with
identify traffic as some serial order would. Each writes history with the operator's
trigger (``key:<prefix>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from identity.errors import (
    ConcurrentChange,
    Conflict,
    IdentifierNotFound,
    InvalidInput,
    LimitsBroken,
    PersonNotFound,
)
from identity.graph import broken_limits, links_across
from identity.identifiers import Identifier
from identity.ids import new_id
from identity.observation import RawIdentifier
from identity.resolution import strength_key
from identity.services.context import WorkspaceContext, identifier_document, utcnow
from identity.services.graph_ops import load_person_graph, lock_live, screen_list, screen_named
from identity.services.transactions import in_transaction
from identity.store.graph import GraphRepository, PersonRow
from identity.store.profiles import ProfileRepository
from identity.store.repairs import RepairRepository
from identity.store.uow import Store, UnitOfWork

__all__ = ["merge", "split", "unbind"]


def split(
    store: Store,
    ws: WorkspaceContext,
    person_id: str,
    raw: Sequence[RawIdentifier],
    trigger: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Move the named identifiers to a new person, cut the links between the two sides
    and hold the two persons apart. The new person starts with an empty profile: traits,
    tags, channels and activity cannot be told apart by identifier, so they stay.
    """
    leaving = screen_list(raw, ws)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        graph = GraphRepository(uow.session, ws.id, uow.sqlite)
        live = lock_live(graph, person_id)
        _, rows, G = load_person_graph(uow, ws, live)
        foreign = {f"identifiers.{n}": "not an identifier of this person"
                   for n, i in enumerate(leaving) if i not in rows.identifiers}  # fmt: skip
        if foreign:
            raise InvalidInput(f"not identifiers of person {live}", foreign)
        if len(leaving) == len(rows.identifiers):
            raise InvalidInput("a split must leave at least one identifier with the person")
        now = utcnow()
        created = new_id("p_")
        graph.create_person(created, now)
        repairs = RepairRepository(uow.session, ws.id)
        repairs.move_identifiers([rows.identifiers[i] for i in leaving], created)
        cut = links_across(G, leaving)
        repairs.delete_links([e.link_id for e in cut])
        graph.hold_apart(live, created, now)
        moved = [str(i) for i in sorted(leaving, key=strength_key(ws.policy))]
        base = {"at": now, "trigger": trigger, "action": "split",
                "reason": reason or "split by an operator"}  # fmt: skip
        graph.record_history([
            {**base, "person_id": live,
             "details": {"new_person_id": created, "identifiers": moved, "links_cut": len(cut)}},
            {**base, "person_id": created, "details": {"from": live, "identifiers": moved}},
        ])  # fmt: skip
        return {"person_id": live, "new_person_id": created, "links_cut": len(cut),
                "identifiers": [identifier_document(i) for i in leaving]}  # fmt: skip

    return in_transaction(store, work)


def merge(
    store: Store,
    ws: WorkspaceContext,
    person_ids: Sequence[str],
    force: bool,
    trigger: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Join persons into the oldest; the others become its aliases and any hold among
    them is lifted. Refused with :class:`LimitsBroken` when the joined person would break
    an identifier limit, unless ``force``.

    An operator link joins the strongest identifier of the survivor to that of each
    absorbed person, so that explain and the drawn graph show why they are one.
    """

    def work(uow: UnitOfWork) -> dict[str, Any]:
        graph = GraphRepository(uow.session, ws.id, uow.sqlite)
        live = _live_ids(graph, person_ids)
        if len(live) < 2:
            return {"person_id": live[0], "merged_person_ids": [], "broken_limits": {}}
        persons = graph.persons(live, lock=True)
        if len(persons) != len(live) or any(p.merged_into for p in persons.values()):
            raise ConcurrentChange("a person changed while it was being read")
        members = {p: [i for _, i in rows] for p, rows in graph.members(live).items()}
        broken = broken_limits(members, ws.policy)
        if broken and not force:
            raise LimitsBroken("the merged person would break identifier limits", broken)
        survivor, *absorbed = sorted(live, key=lambda p: (persons[p].created_at, p))
        now = utcnow()
        _absorb(uow, ws, graph, persons, survivor, absorbed, now)
        _operator_links(graph, ws, members, survivor, absorbed, now, trigger)
        graph.record_history(
            _merge_history(survivor, absorbed, now, trigger, reason, forced=bool(broken))
        )
        return {"person_id": survivor, "merged_person_ids": absorbed, "broken_limits": broken}

    return in_transaction(store, work)


def unbind(
    store: Store, ws: WorkspaceContext, raw: RawIdentifier, trigger: str, reason: str | None = None
) -> dict[str, Any]:
    """Remove one identifier (and its links) from its person. Its person keeps its
    profile; the identifier may come back with a later observation like any new one.
    Unbinding a person's last identifier is refused: erase the person instead.
    """
    identifier = screen_named({"identifier": raw}, ws)["identifier"]

    def work(uow: UnitOfWork) -> dict[str, Any]:
        graph = GraphRepository(uow.session, ws.id, uow.sqlite)
        owner = graph.owners([identifier]).get(identifier)
        if owner is None:
            raise IdentifierNotFound("the identifier is not known in this workspace")
        row_id, person_id = owner
        lock_live(graph, person_id)
        members = graph.members([person_id]).get(person_id, [])
        if (row_id, identifier) not in members:
            raise ConcurrentChange("the identifier moved while it was being read")
        if len(members) == 1:
            raise Conflict("this is the person's last identifier; erase the person instead")
        links = RepairRepository(uow.session, ws.id).delete_identifiers([row_id])
        graph.record_history([{"person_id": person_id, "at": utcnow(), "action": "unbind",
                               "trigger": trigger, "reason": reason or "unbound by an operator",
                               "details": {"identifier": str(identifier),
                                           "links_removed": links}}])  # fmt: skip
        return {"person_id": person_id, "identifier": identifier_document(identifier),
                "links_removed": links}  # fmt: skip

    return in_transaction(store, work)


def _live_ids(graph: GraphRepository, person_ids: Sequence[str]) -> list[str]:
    live: dict[str, None] = {}
    unknown = {}
    for n, person_id in enumerate(person_ids):
        found = graph.live_person_id(person_id)
        if found is None:
            unknown[f"person_ids.{n}"] = f"no person {person_id} in this workspace"
        else:
            live[found] = None
    if unknown:
        raise PersonNotFound("unknown persons", unknown)
    return sorted(live)


def _absorb(
    uow: UnitOfWork,
    ws: WorkspaceContext,
    graph: GraphRepository,
    persons: dict[str, PersonRow],
    survivor: str,
    absorbed: list[str],
    now: datetime,
) -> None:
    """As identify merges: profiles fold into the survivor, the others become aliases
    (their holds move to the survivor; holds among the merged persons disappear)."""
    profiles = ProfileRepository(uow.session, ws.id)
    loaded = profiles.load({p: persons[p].activity for p in [survivor, *absorbed]})
    profile = loaded[survivor]
    for other in absorbed:
        profile.absorb(loaded[other], ws.policy)
    graph.absorb_persons(survivor, absorbed, now)
    profiles.drop(absorbed)
    profiles.save(survivor, profile)
    profiles.refresh_channel_sets([survivor])
    graph.set_activity(survivor, profile.activity, now)


def _operator_links(
    graph: GraphRepository,
    ws: WorkspaceContext,
    members: dict[str, list[Identifier]],
    survivor: str,
    absorbed: list[str],
    now: datetime,
    trigger: str,
) -> None:
    key = strength_key(ws.policy)
    heads = {p: min(members[p], key=key) for p in [survivor, *absorbed] if members.get(p)}
    if survivor not in heads:
        return
    row_ids = {i: row for i, (row, _) in graph.owners(list(heads.values())).items()}
    targets = [row_ids[heads[p]] for p in absorbed if p in heads]
    graph.record_links(row_ids[heads[survivor]], targets, now, None, f"operator:{trigger}")


def _merge_history(
    survivor: str,
    absorbed: list[str],
    now: datetime,
    trigger: str,
    reason: str | None,
    forced: bool,
) -> list[dict[str, Any]]:
    why = reason or ("forced merge by an operator" if forced else "merged by an operator")
    base = {"at": now, "trigger": trigger, "action": "merge", "reason": why}
    entries = []
    for other in absorbed:
        entries.append({**base, "person_id": survivor,
                        "details": {"absorbed": other, "forced": forced}})  # fmt: skip
        entries.append({**base, "person_id": other, "details": {"into": survivor}})
    return entries
