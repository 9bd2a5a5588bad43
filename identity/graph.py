"""A person's identity graph as a networkx graph, and the pure functions operators use.

Nodes are :class:`~identity.identifiers.Identifier` objects (phone and email values are
already keyed hashes); each edge carries its link's evidence in the attribute
``evidence`` (a :class:`LinkEvidence`). Nothing here touches a database.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import networkx as nx

from identity.identifiers import Identifier
from identity.policy import Policy

__all__ = [
    "LinkEvidence",
    "broken_limits",
    "build_graph",
    "explain_path",
    "fragile_identifiers",
    "links_across",
    "strongest_nodes",
]


@dataclass(frozen=True)
class LinkEvidence:
    """Why two identifiers are joined: the link an observation recorded."""

    link_id: int
    first_seen: datetime
    last_seen: datetime
    count: int
    channels: tuple[str, ...]
    first_message_id: str | None


def build_graph(
    identifiers: Iterable[Identifier],
    links: Iterable[tuple[Identifier, Identifier, LinkEvidence]],
) -> nx.Graph:
    """The identity graph ``G`` of one person.

    >>> from datetime import UTC
    >>> a, b = Identifier("login_id", "app", "A"), Identifier("idfa", "", "X")
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> G = build_graph([a, b], [(a, b, LinkEvidence(1, at, at, 1, ("app",), "m1"))])
    >>> G.number_of_nodes(), G.edges[a, b]["evidence"].first_message_id
    (2, 'm1')
    """
    G = nx.Graph()
    G.add_nodes_from(identifiers)
    for source, target, evidence in links:
        if source in G and target in G:
            G.add_edge(source, target, evidence=evidence)
    return G


def explain_path(
    G: nx.Graph, source: Identifier, target: Identifier
) -> list[tuple[Identifier, Identifier, LinkEvidence]] | None:
    """The shortest chain of links from ``source`` to ``target``; ``None`` when no chain
    joins them, ``[]`` when they are the same identifier.

    >>> from datetime import UTC
    >>> a, b, c = (Identifier("anonymous_id", "", v) for v in "abc")
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ev = LinkEvidence(1, at, at, 1, (), None)
    >>> G = build_graph([a, b, c], [(a, b, ev), (b, c, ev)])
    >>> [(str(x), str(y)) for x, y, _ in explain_path(G, a, c)]
    [('anonymous_id:a', 'anonymous_id:b'), ('anonymous_id:b', 'anonymous_id:c')]
    """
    if source not in G or target not in G:
        raise ValueError("both identifiers must be nodes of the graph")
    try:
        nodes = nx.shortest_path(G, source, target)
    except nx.NetworkXNoPath:
        return None
    return [(x, y, G.edges[x, y]["evidence"]) for x, y in itertools.pairwise(nodes)]


def links_across(G: nx.Graph, leaving: Collection[Identifier]) -> list[LinkEvidence]:
    """The links a split of ``leaving`` from the rest cuts: those with one end on each
    side.

    >>> from datetime import UTC
    >>> a, b, c = (Identifier("anonymous_id", "", v) for v in "abc")
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> G = build_graph([a, b, c], [(a, b, LinkEvidence(1, at, at, 1, (), None)),
    ...                             (b, c, LinkEvidence(2, at, at, 1, (), None))])
    >>> [e.link_id for e in links_across(G, {c})]
    [2]
    """
    side = set(leaving)
    return sorted(
        (data["evidence"] for x, y, data in G.edges(data=True) if (x in side) != (y in side)),
        key=lambda e: e.link_id,
    )


def fragile_identifiers(G: nx.Graph, min_side: int = 2) -> list[Identifier]:
    """Identifiers the graph hangs on: without one of them, the person falls apart into
    two or more pieces of at least ``min_side`` identifiers each.

    Articulation points (networkx) are the candidates. A person's first observation links
    its strongest identifier to every other, so that hub is an articulation point of
    pieces of one; ``min_side`` keeps such stars out of the report.

    >>> from datetime import UTC
    >>> a, b, c, d, e = (Identifier("anonymous_id", "", v) for v in "abcde")
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> ev = LinkEvidence(1, at, at, 1, (), None)
    >>> G = build_graph([a, b, c, d, e], [(a, b, ev), (b, c, ev), (c, d, ev), (d, e, ev)])
    >>> [str(i) for i in fragile_identifiers(G)]
    ['anonymous_id:c']
    """
    fragile = []
    for node in nx.articulation_points(G):
        rest = nx.restricted_view(G, [node], [])
        pieces = [p for p in nx.connected_components(rest) if len(p) >= min_side]
        if len(pieces) >= 2:
            fragile.append(node)
    return sorted(fragile)


def strongest_nodes(
    G: nx.Graph, limit: int, key: Callable[[Identifier], Any]
) -> tuple[list[Identifier], bool]:
    """At most ``limit`` nodes for display, strongest first; and whether any were left
    out. Kept nodes are chosen so that the kept graph stays connected to the strongest
    identifier where it can (a breadth-first walk from it, strongest neighbours first).

    >>> a, b, c = (Identifier("anonymous_id", "", v) for v in "abc")
    >>> G = build_graph([a, b, c], [])
    >>> nodes, truncated = strongest_nodes(G, 2, lambda i: i.value)
    >>> [str(n) for n in nodes], truncated
    (['anonymous_id:a', 'anonymous_id:b'], True)
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    kept: dict[Identifier, None] = {}
    for start in sorted(G.nodes, key=key):
        if len(kept) >= limit:
            break
        if start in kept:
            continue
        queue = [start]
        while queue and len(kept) < limit:
            node = queue.pop(0)
            if node in kept:
                continue
            kept[node] = None
            queue.extend(sorted((n for n in G.neighbors(node) if n not in kept), key=key))
    return list(kept), len(kept) < G.number_of_nodes()


def broken_limits(members: Mapping[str, Collection[Identifier]], policy: Policy) -> dict[str, str]:
    """The ``(kind, scope)`` limits that joining these persons would break, named
    ``kind`` or ``kind@scope``, each with a sentence saying by how much.

    >>> from identity.policy import default_policy
    >>> one = [Identifier("member_id", "", "1")]
    >>> two = [Identifier("member_id", "", "2")]
    >>> broken_limits({"p1": one, "p2": two}, default_policy())
    {'member_id': '2 values, the limit is 1'}
    """
    values: dict[tuple[str, str], set[str]] = defaultdict(set)
    for identifiers in members.values():
        for identifier in identifiers:
            values[identifier.group].add(identifier.value)
    broken = {}
    for (kind, scope), found in sorted(values.items()):
        rule = policy.kinds.get(kind)
        if rule is not None and len(found) > rule.limit:
            name = f"{kind}@{scope}" if scope else kind
            broken[name] = f"{len(found)} values, the limit is {rule.limit}"
    return broken
