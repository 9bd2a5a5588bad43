"""Apply a chunk of import rows inside one unit of work.

This first engine runs each row through the online identify path, which makes it exact
by construction and slow; the bulk engine replaces its inside, not its signature.
"""

from __future__ import annotations

from collections.abc import Sequence

from identity.errors import InvalidInput
from identity.imports.rows import ChunkOutcome, ImportRow
from identity.observation import check_traits, screen
from identity.services.context import WorkspaceContext
from identity.services.identify import apply_screened, prior_answer
from identity.store.uow import UnitOfWork

__all__ = ["apply_rows"]


def apply_rows(
    uow: UnitOfWork, ws: WorkspaceContext, rows: Sequence[ImportRow], trigger: str
) -> ChunkOutcome:
    """Identify ``rows`` in order within ``uow`` (the caller commits).

    ``trigger`` is recorded in the history (``import:<id>``). A row whose message id was
    seen before is a ``duplicate``; a row with no usable identifier or bad traits is
    ``rejected`` with the reason; the others count as their identify outcome.
    """
    outcome = ChunkOutcome()
    for row in rows:
        observation = row.observation
        if observation.message_id and prior_answer(uow, ws, observation.message_id):
            outcome.counts["duplicate"] += 1
            continue
        try:
            check_traits(observation.traits, ws.policy)
            screened = screen(observation.identifiers, ws.policy, ws.hasher)
            screened.refuse_if_empty()
            answer = apply_screened(uow, ws, observation, screened, trigger)
        except InvalidInput as exc:
            outcome.reject(row.line, _reason(exc))
            continue
        outcome.counts[answer["outcome"]] += 1
    return outcome


def _reason(exc: InvalidInput) -> str:
    details = "; ".join(f"{where}: {why}" for where, why in (exc.errors or {}).items())
    return f"{exc.detail} ({details})" if details else exc.detail
