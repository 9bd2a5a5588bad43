"""Right to erasure: delete a person and everything about it, keeping only keyed-hash
suppression entries so that re-sent data of its identifiers is ignored."""

from __future__ import annotations

from typing import Any

from identity.errors import AliasErasure
from identity.services.context import WorkspaceContext, utcnow
from identity.services.graph_ops import lock_live
from identity.services.transactions import in_transaction
from identity.store.graph import GraphRepository
from identity.store.repairs import RepairRepository
from identity.store.uow import Store, UnitOfWork

__all__ = ["erase"]


def erase(
    store: Store,
    ws: WorkspaceContext,
    person_id: str,
    trigger: str,
    dry_run: bool = False,
    follow_alias: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    """Erase a person: its identifiers, links, traits, tags, channels, holds, stored
    first answers of its messages, its aliases and its history, which shrinks to one
    ``erase`` entry without details of what was erased.

    An alias id is refused with :class:`AliasErasure` unless ``follow_alias``: the alias
    stands for a larger person (its survivor), and erasing that is a bigger act than the
    caller may expect. ``dry_run`` reports the same counts and changes nothing.
    """

    def work(uow: UnitOfWork) -> dict[str, Any]:
        graph = GraphRepository(uow.session, ws.id, uow.sqlite)
        live = graph.live_person_id(person_id)
        if live is not None and live != person_id and not follow_alias:
            raise AliasErasure(
                f"{person_id} is an alias of {live}; erase {live}, or pass follow_alias=true",
                {"person_id": live},
            )
        live = lock_live(graph, person_id)
        repairs = RepairRepository(uow.session, ws.id)
        persons = [live, *repairs.aliases_of(live)]
        rows = repairs.graph_rows(live).identifiers
        report = {"person_id": live, "dry_run": dry_run, "aliases": persons[1:],
                  "identifiers": len(rows), "suppressions": len(rows),
                  **repairs.erasure_counts(persons, rows.values())}  # fmt: skip
        if dry_run:
            return report
        now = utcnow()
        repairs.suppress({ws.suppression_key(i) for i in rows}, now)
        repairs.erase(persons, rows)
        graph.record_history([{"person_id": live, "at": now, "action": "erase",
                               "trigger": trigger, "reason": reason or "erasure requested",
                               "details": None}])  # fmt: skip
        return report

    return in_transaction(store, work)
