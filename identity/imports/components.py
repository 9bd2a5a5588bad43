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
    holds: Iterable[tuple[str, str]],
    policy: Policy,
) -> NDArray[np.bool_]:
    """For each identifier code, whether its component is safe.

    ``rows`` are the codes each row carries; ``identifiers`` every code's identifier
    (the rows' and all those of the stored persons they touch); ``owner`` the stored
    person of each stored code; ``holds`` the pairs of stored persons held apart.

    >>> from identity.policy import default_policy
    >>> ids = [Identifier("member_id", "", v) for v in "abcd"]
    >>> safe_codes([[0, 1], [2]], ids, {3: "p1"}, [], default_policy()).tolist()
    [False, False, True, True]
    """
    count = len(identifiers)
    if count == 0:
        return np.zeros(0, dtype=bool)
    persons = {person: count + k for k, person in enumerate(sorted(set(owner.values())))}
    labels = _labels(rows, owner, persons, count)
    unsafe = np.zeros(labels.max() + 1, dtype=bool)
    for a, b in holds:
        if a in persons and b in persons and labels[persons[a]] == labels[persons[b]]:
            unsafe[labels[persons[a]]] = True
    unsafe[_over_limit(labels[:count], identifiers, policy)] = True
    return ~unsafe[labels[:count]]


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
    labels: NDArray[np.int32], identifiers: Sequence[Identifier], policy: Policy
) -> NDArray[np.int64]:
    """Components where some ``(kind, scope)`` holds more distinct values than allowed."""
    groups: dict[tuple[str, str], int] = {}
    group_of = np.fromiter(
        (groups.setdefault(i.group, len(groups)) for i in identifiers),
        dtype=np.int64,
        count=len(identifiers),
    )
    unlimited = len(identifiers)  # a kind the policy no longer knows has no limit
    limits = np.array(
        [policy.kinds[kind].limit if kind in policy.kinds else unlimited for kind, _ in groups],
        dtype=np.int64,
    )
    keys = labels.astype(np.int64) * len(groups) + group_of
    found, counts = np.unique(keys, return_counts=True)
    over = counts > limits[found % len(groups)]
    return np.asarray(found[over] // len(groups), dtype=np.int64)
