"""What a chunk's rows say about identifiers and the links between them, aggregated with
numpy: when each identifier was first and last used, and each rule 6 link's evidence.

Times are ranks of the chunk's distinct times (:class:`identity.imports.gathered.Timeline`);
identifiers are the codes of the chunk's catalogue.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Evidence", "Uses", "link_evidence"]

_Ints = NDArray[np.int64]


@dataclass(slots=True)
class Evidence:
    """A link's evidence from the rows: first and last time (ranks), how many rows,
    their channels in the order they first came, the first row's message id."""

    first_seen: int
    last_seen: int
    count: int
    channels: list[str]
    first_message_id: str | None


@dataclass
class Uses:
    """Every use of an identifier by a row, flat: the code, the row (its index) and the
    row's time; ``starts`` is where each row's codes begin (its first, strongest code)."""

    codes: _Ints
    rows: _Ints
    ranks: _Ints
    starts: _Ints

    @classmethod
    def of(cls, codes: Sequence[Sequence[int]], ranks: Sequence[int]) -> Uses:
        """The uses of rows that carry ``codes`` (each row at least one) at ``ranks``.

        >>> uses = Uses.of([[4, 2], [3]], [1, 0])
        >>> uses.codes.tolist(), uses.rows.tolist(), uses.ranks.tolist(), uses.starts.tolist()
        ([4, 2, 3], [0, 0, 1], [1, 1, 0], [0, 2])
        """
        sizes = np.fromiter(map(len, codes), dtype=np.int64, count=len(codes))
        flat = np.fromiter(itertools.chain.from_iterable(codes), dtype=np.int64,
                           count=int(sizes.sum()))  # fmt: skip
        rows = np.repeat(np.arange(len(codes), dtype=np.int64), sizes)
        starts = np.cumsum(sizes) - sizes
        return cls(flat, rows, np.asarray(ranks, dtype=np.int64)[rows], starts)

    def first_last(self, count: int) -> dict[int, tuple[int, int]]:
        """The first and last rank of each code used (of ``count`` codes).

        >>> Uses.of([[0, 2], [2]], [5, 3]).first_last(3)
        {0: (5, 5), 2: (3, 5)}
        """
        first = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(count, -1, dtype=np.int64)
        np.minimum.at(first, self.codes, self.ranks)
        np.maximum.at(last, self.codes, self.ranks)
        used = np.flatnonzero(last >= 0)
        pairs = zip(first[used].tolist(), last[used].tolist(), strict=True)
        return dict(zip(used.tolist(), pairs, strict=True))


def link_evidence(
    uses: Uses,
    channels: Sequence[str | None],
    messages: Sequence[str | None],
    count: int,
) -> dict[tuple[int, int], Evidence]:
    """Rule 6 links of every row (its first code to each other one) aggregated per pair
    of codes, in the order the pairs first appear; ``channels`` and ``messages`` are each
    row's channel and message id, ``count`` the number of codes.

    >>> found = link_evidence(Uses.of([[0, 1], [0, 1, 2], [0, 1]], [2, 0, 1]),
    ...                       [None, "app", "mini"], ["m1", None, "m3"], 3)
    >>> {pair: (e.first_seen, e.last_seen, e.count, e.channels, e.first_message_id)
    ...  for pair, e in found.items()}
    {(0, 1): (0, 2, 3, ['app', 'mini'], 'm1'), (0, 2): (0, 0, 1, ['app'], None)}
    """
    other = np.ones(len(uses.codes), dtype=bool)
    other[uses.starts] = False
    heads = uses.codes[uses.starts][uses.rows[other]]
    targets, rows, ranks = uses.codes[other], uses.rows[other], uses.ranks[other]
    if not len(targets):
        return {}
    keys = heads * count + targets
    unique, first, inverse, counts = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    low = np.full(len(unique), np.iinfo(np.int64).max, dtype=np.int64)
    high = np.full(len(unique), -1, dtype=np.int64)
    np.minimum.at(low, inverse, ranks)
    np.maximum.at(high, inverse, ranks)
    named = _channel_lists(inverse, rows, channels, len(unique))
    order = np.argsort(first, kind="stable")  # the order the pairs first appear in
    at = first[order]
    found = {}
    for e, source, target, lo, hi, n, row in zip(
        order.tolist(), heads[at].tolist(), targets[at].tolist(), low[order].tolist(),
        high[order].tolist(), counts[order].tolist(), rows[at].tolist(), strict=True,
    ):  # fmt: skip
        found[(source, target)] = Evidence(lo, hi, n, named[e], messages[row])
    return found


def _channel_lists(
    edge: _Ints, rows: _Ints, channels: Sequence[str | None], count: int
) -> list[list[str]]:
    """Each edge's channels (of the rows of its uses), in the order they first came."""
    names: dict[str, int] = {}
    numbered = np.fromiter((names.setdefault(c, len(names)) if c else -1 for c in channels),
                           dtype=np.int64, count=len(channels))  # fmt: skip
    lists: list[list[str]] = [[] for _ in range(count)]
    if not names:
        return lists
    channel = numbered[rows]
    where = np.flatnonzero(channel >= 0)
    pairs, first = np.unique(edge[where] * len(names) + channel[where], return_index=True)
    order = np.lexsort((where[first], pairs // len(names)))
    name_of = list(names)
    for pair in pairs[order].tolist():
        lists[pair // len(names)].append(name_of[pair % len(names)])
    return lists
