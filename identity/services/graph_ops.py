"""Read use cases of the operator's kit: a person's identity graph, explain, history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
from sqlalchemy import select

from identity.errors import ConcurrentChange, IdentifierNotFound, InvalidInput, PersonNotFound
from identity.graph import LinkEvidence, build_graph, explain_path, strongest_nodes
from identity.identifiers import Identifier
from identity.observation import RawIdentifier, screen
from identity.resolution import strength_key
from identity.services.context import WorkspaceContext, identifier_document
from identity.services.transactions import read
from identity.store.graph import GraphRepository
from identity.store.models import History, table
from identity.store.repairs import PersonGraphRows, RepairRepository
from identity.store.uow import Store, UnitOfWork

__all__ = [
    "MAX_GRAPH_NODES",
    "explain",
    "history",
    "load_person_graph",
    "lock_live",
    "node_id",
    "person_graph",
    "screen_list",
    "screen_named",
]

MAX_GRAPH_NODES = 5000


def person_graph(
    store: Store, ws: WorkspaceContext, person_id: str, limit: int = 500
) -> dict[str, Any]:
    """``{person_id, nodes, edges, truncated}``: the strongest ``limit`` identifiers of
    the person and the links among them."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        live, rows, G = load_person_graph(uow, ws, person_id)
        kept, truncated = strongest_nodes(G, limit, strength_key(ws.policy))
        sub = G.subgraph(kept)
        return {
            "person_id": live,
            "truncated": truncated,
            "total_nodes": G.number_of_nodes(),
            "total_edges": G.number_of_edges(),
            "nodes": [_node_document(i, rows) for i in kept],
            "edges": [_edge_document(x, y, d["evidence"]) for x, y, d in sub.edges(data=True)],
        }

    return read(store, work)


def explain(
    store: Store, ws: WorkspaceContext, person_id: str, source: RawIdentifier, target: RawIdentifier
) -> dict[str, Any]:
    """The chain of links joining two identifiers of one person, each with its evidence.

    Raises :class:`PersonNotFound` for an unknown person, :class:`IdentifierNotFound`
    when an identifier is not the person's, and :class:`InvalidInput` when it is invalid
    or when no chain of links joins the two (the graph was cut by an unbind).
    """
    named = screen_named({"from": source, "to": target}, ws)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        live, _, G = load_person_graph(uow, ws, person_id)
        missing = {f: "not an identifier of this person" for f, i in named.items() if i not in G}
        if missing:
            raise IdentifierNotFound(f"not an identifier of person {live}", missing)
        chain = explain_path(G, named["from"], named["to"])
        if chain is None:
            raise InvalidInput("no chain of links joins the two identifiers")
        return {
            "person_id": live,
            "from": identifier_document(named["from"]),
            "to": identifier_document(named["to"]),
            "links": [_edge_document(x, y, ev) for x, y, ev in chain],
        }

    return read(store, work)


def history(
    store: Store, ws: WorkspaceContext, person_id: str, limit: int = 50, cursor: int | None = None
) -> dict[str, Any]:
    """The history of a person and its aliases, newest first; ``next_cursor`` pages on.

    An erased person answers with the erasure entry that is all that stays of it.
    """

    def work(uow: UnitOfWork) -> dict[str, Any]:
        live = GraphRepository(uow.session, ws.id, uow.sqlite).live_person_id(person_id)
        ids = [person_id]
        if live is not None:
            ids = [live, *RepairRepository(uow.session, ws.id).aliases_of(live)]
        h = table(History).c
        query = select(h.id, h.person_id, h.at, h.action, h.trigger, h.reason, h.details).where(
            h.workspace_id == ws.id, h.person_id.in_(ids)
        )
        if cursor is not None:
            query = query.where(h.id < cursor)
        rows = uow.session.execute(query.order_by(h.id.desc()).limit(limit + 1)).all()
        if live is None and not rows and cursor is None:
            raise PersonNotFound(f"no person {person_id} in this workspace")
        items = [dict(row._mapping) for row in rows[:limit]]
        more = len(rows) > limit
        return {"person_id": live or person_id, "items": items,
                "next_cursor": str(items[-1]["id"]) if more else None}  # fmt: skip

    return read(store, work)


def load_person_graph(
    uow: UnitOfWork, ws: WorkspaceContext, person_id: str
) -> tuple[str, PersonGraphRows, nx.Graph]:
    """The live id an id stands for, its graph rows and its networkx graph."""
    live = GraphRepository(uow.session, ws.id, uow.sqlite).live_person_id(person_id)
    if live is None:
        raise PersonNotFound(f"no person {person_id} in this workspace")
    rows = RepairRepository(uow.session, ws.id).graph_rows(live)
    return live, rows, build_graph(rows.identifiers, rows.links)


def lock_live(graph: GraphRepository, person_id: str) -> str:
    """The live id ``person_id`` stands for, locked; an alias follows its survivor."""
    live = graph.live_person_id(person_id)
    if live is None:
        raise PersonNotFound(f"no person {person_id} in this workspace")
    row = graph.persons([live], lock=True).get(live)
    if row is None or row.merged_into is not None:
        raise ConcurrentChange("the person changed while it was being read")
    return live


def screen_named(raw: dict[str, RawIdentifier], ws: WorkspaceContext) -> dict[str, Identifier]:
    """Normalise identifiers named in a request body; any that is invalid or blocked is
    an :class:`InvalidInput` naming its field."""
    problems, named = {}, {}
    for field, item in raw.items():
        screened = screen([item], ws.policy, ws.hasher)
        notes = screened.rejected + screened.ignored
        if notes:
            problems[field] = f"{item.kind}: {notes[0].reason}"
        else:
            named[field] = screened.accepted[0]
    if problems:
        raise InvalidInput("invalid identifiers", problems)
    return named


def screen_list(raw: Sequence[RawIdentifier], ws: WorkspaceContext) -> list[Identifier]:
    named = screen_named({f"identifiers.{n}": item for n, item in enumerate(raw)}, ws)
    return list(dict.fromkeys(named.values()))


def node_id(identifier: Identifier) -> str:
    return str(identifier)


def _node_document(identifier: Identifier, rows: PersonGraphRows) -> dict[str, Any]:
    first, last = rows.seen[identifier]
    return {"id": node_id(identifier), **identifier_document(identifier),
            "first_seen": first, "last_seen": last}  # fmt: skip


def _edge_document(x: Identifier, y: Identifier, evidence: LinkEvidence) -> dict[str, Any]:
    return {
        "source": node_id(x),
        "target": node_id(y),
        "link_id": evidence.link_id,
        "first_seen": evidence.first_seen,
        "last_seen": evidence.last_seen,
        "count": evidence.count,
        "channels": list(evidence.channels),
        "first_message_id": evidence.first_message_id,
    }
