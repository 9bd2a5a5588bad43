"""Connected components of a chunk's identifiers, and which ones are trivially safe.

The rules only ever refuse joins, so whatever the rows of one component do stays inside
it. A component is *trivially safe* when none of its identifiers is already stored and no
``(kind, scope)`` in it has more distinct values than the kind's limit: then no row of it
can be refused anything, and its persons follow from plain union-find in file order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

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
    stored: Collection[int],
    policy: Policy,
) -> NDArray[np.bool_]:
    """For each identifier code, whether its component is trivially safe.

    ``rows`` are the codes each row carries, ``stored`` the codes already in the store.

    >>> from identity.policy import default_policy
    >>> ids = [Identifier("member_id", "", v) for v in "abc"]
    >>> safe_codes([[0, 1], [2]], ids, [], default_policy()).tolist()
    [False, False, True]
    """
    count = len(identifiers)
    if count == 0:
        return np.zeros(0, dtype=bool)
    labels = _labels(rows, count)
    unsafe = np.zeros(labels.max() + 1, dtype=bool)
    if stored:
        unsafe[labels[np.fromiter(stored, dtype=np.int64, count=len(stored))]] = True
    unsafe[_over_limit(labels, identifiers, policy)] = True
    return ~unsafe[labels]


def _labels(rows: Sequence[Sequence[int]], count: int) -> NDArray[np.int32]:
    """The component of each code: rows join their first identifier to the others."""
    sizes = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=int(sizes.sum()))
    heads = np.repeat(flat[np.cumsum(sizes) - sizes], sizes)
    graph = coo_matrix((np.ones(len(flat), dtype=np.int8), (heads, flat)), shape=(count, count))
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
    limits = np.array([policy.kinds[kind].limit for kind, _ in groups], dtype=np.int64)
    keys = labels.astype(np.int64) * len(groups) + group_of
    found, counts = np.unique(keys, return_counts=True)
    over = counts > limits[found % len(groups)]
    return np.asarray(found[over] // len(groups), dtype=np.int64)
