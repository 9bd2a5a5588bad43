"""The quality report of SPEC section 5: do the persons look like single humans?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity.graph import build_graph, fragile_identifiers
from identity.resolution import strength_key
from identity.services.context import WorkspaceContext, identifier_document
from identity.services.transactions import read
from identity.store.quality import QualityRepository
from identity.store.repairs import RepairRepository
from identity.store.uow import Store, UnitOfWork

__all__ = ["SIZE_BUCKETS", "quality", "size_distribution"]

# Identifiers per person, as (label, smallest, largest or None).
SIZE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1", 1, 1), ("2", 2, 2), ("3-5", 3, 5), ("6-10", 6, 10),
    ("11-20", 11, 20), ("21-50", 21, 50), ("51+", 51, None),
)  # fmt: skip


def size_distribution(sizes: Mapping[int, int]) -> list[dict[str, Any]]:
    """Persons per size bucket.

    >>> size_distribution({1: 5, 2: 1, 4: 2, 60: 1})[:3]
    [{'size': '1', 'persons': 5}, {'size': '2', 'persons': 1}, {'size': '3-5', 'persons': 2}]
    """
    return [
        {"size": label,
         "persons": sum(n for size, n in sizes.items()
                        if size >= low and (high is None or size <= high))}
        for label, low, high in SIZE_BUCKETS
    ]  # fmt: skip


def quality(store: Store, ws: WorkspaceContext, top: int = 10, scan: int = 200) -> dict[str, Any]:
    """Size distribution, the ``top`` largest persons, junk candidates (values that
    observations tried to share: demoted, or blocked), demotions by kind, and the persons
    whose graph hangs on one identifier, looked for among the ``scan`` largest persons
    with three identifiers or more (a bound: each needs its graph loaded)."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        report = QualityRepository(uow.session, ws.id)
        sizes = report.size_counts()
        return {
            "persons": sum(sizes.values()),
            "identifiers": sum(size * n for size, n in sizes.items()),
            "size_distribution": size_distribution(sizes),
            "largest": [{"person_id": p, "identifiers": n} for p, n in report.largest(top)],
            "junk_candidates": report.contested(top),
            "demotions_by_kind": report.counts_by_kind("demoted"),
            "blocked_by_kind": report.counts_by_kind("blocked"),
            "bridges": _bridges(uow, ws, report.largest(scan, at_least=3), top),
        }

    return read(store, work)


def _bridges(
    uow: UnitOfWork, ws: WorkspaceContext, candidates: list[tuple[str, int]], top: int
) -> dict[str, Any]:
    repairs = RepairRepository(uow.session, ws.id)
    found, scanned = [], 0
    for person_id, size in candidates:
        scanned += 1
        rows = repairs.graph_rows(person_id)
        fragile = fragile_identifiers(build_graph(rows.identifiers, rows.links))
        if fragile:
            fragile.sort(key=strength_key(ws.policy))
            hubs = [identifier_document(i) for i in fragile]
            found.append({"person_id": person_id, "identifiers": size, "bridge_identifiers": hubs})
        if len(found) >= top:
            break
    return {"scanned": scanned, "persons": found}
