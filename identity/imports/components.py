"""Connected components of a chunk's identifiers, and which ones are safe.

The rules only ever refuse joins, so whatever the rows of one component do stays inside
it. A component here holds the rows' identifiers and the stored persons that own any of
them, with all their identifiers. It is *safe* when no ``(kind, scope)`` in it has more
distinct values than the kind's limit and no two of its stored persons are held apart:
then no row of it can be refused anything (whatever a row would join is a part of the
component), and its persons follow from plain union-find in file order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from identity.identifiers import Identifier
from identity.policy import Policy

__all__ = ["safe_codes"]


def safe_codes(
    rows: Sequence[Sequence[int]],
    identifiers: Sequence[Identifier],
    owner: Mapping[int, str],
    counts: Iterable[tuple[str, str, str, int]],
    holds: Iterable[tuple[str, str]],
    policy: Policy,
) -> tuple[NDArray[np.bool_], set[str]]:
    """For each identifier code, whether its component is safe; and the stored persons
    in components that are not.

    ``rows`` are the codes each row carries; ``owner`` the stored person of each stored
    code; ``counts`` how many identifiers of each ``(kind, scope)`` each of those persons
    has; ``holds`` the pairs of stored persons held apart.

    >>> from identity.policy import default_policy
    >>> ids = [Identifier("member_id", "", v) for v in "abc"]
    >>> safe, persons = safe_codes([[0, 1], [2]], ids, {2: "p1"}, [("p1", "member_id", "", 1)],
    ...                            [], default_policy())
    >>> safe.tolist(), persons
    ([False, False, True], set())
    """
    count = len(identifiers)
    if count == 0:
        return np.zeros(0, dtype=bool), set()
    persons = {person: count + k for k, person in enumerate(sorted(set(owner.values())))}
    labels = _labels(rows, owner, persons, count)
    unsafe = np.zeros(labels.max() + 1, dtype=bool)
    for a, b in holds:
        if a in persons and b in persons and labels[persons[a]] == labels[persons[b]]:
            unsafe[labels[persons[a]]] = True
    unsafe[_over_limit(labels, identifiers, owner, persons, counts, policy)] = True
    return ~unsafe[labels[:count]], {p for p, node in persons.items() if unsafe[labels[node]]}


def _labels(
    rows: Sequence[Sequence[int]], owner: Mapping[int, str], persons: Mapping[str, int], count: int
) -> NDArray[np.int32]:
    """The component of each code and each stored person (nodes ``count`` on): rows
    join their first identifier to the others, stored identifiers join their owner."""
    sizes = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=int(sizes.sum()))
    heads = np.repeat(flat[np.cumsum(sizes) - sizes], sizes)
    stored = np.fromiter(owner.keys(), dtype=np.int64, count=len(owner))
    owners = np.fromiter((persons[p] for p in owner.values()), dtype=np.int64, count=len(owner))
    sources, targets = np.concatenate([heads, stored]), np.concatenate([flat, owners])
    nodes = count + len(persons)
    graph = coo_matrix(
        (np.ones(len(sources), dtype=np.int8), (sources, targets)), shape=(nodes, nodes)
    )
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int32)


def _over_limit(
    labels: NDArray[np.int32],
    identifiers: Sequence[Identifier],
    owner: Mapping[int, str],
    persons: Mapping[str, int],
    counts: Iterable[tuple[str, str, str, int]],
    policy: Policy,
) -> NDArray[np.int64]:
    """Components where some ``(kind, scope)`` holds more distinct values than allowed:
    the stored persons' counts plus the codes no stored person owns (an identifier
    belongs to one person, so these never count a value twice)."""
    groups: dict[tuple[str, str], int] = {}
    nodes, group_of, weights = [], [], []
    for code, identifier in enumerate(identifiers):
        if code not in owner:
            nodes.append(code)
            group_of.append(groups.setdefault(identifier.group, len(groups)))
            weights.append(1)
    for person, kind, scope, number in counts:
        nodes.append(persons[person])
        group_of.append(groups.setdefault((kind, scope), len(groups)))
        weights.append(number)
    unlimited = len(identifiers) + sum(weights)  # a kind the policy no longer knows
    limits = np.array(
        [policy.kinds[kind].limit if kind in policy.kinds else unlimited for kind, _ in groups],
        dtype=np.int64,
    )
    keys = labels[np.array(nodes, dtype=np.int64)].astype(np.int64) * len(groups) + np.array(
        group_of, dtype=np.int64
    )
    found, inverse = np.unique(keys, return_inverse=True)
    totals = np.bincount(inverse, weights=np.array(weights, dtype=np.float64))
    over = totals > limits[found % len(groups)]
    return np.asarray(found[over] // len(groups), dtype=np.int64)
