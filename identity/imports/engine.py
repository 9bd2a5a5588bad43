"""Apply a chunk of import rows inside one unit of work, exactly as identifying them one
by one in file order would, but in bulk.

1. Screen: each distinct raw identifier is normalised and hashed once; message ids and
   suppressions are looked up in bulk (:mod:`identity.imports.screening`).
2. Read the stored persons the chunk touches in a few big queries
   (:mod:`identity.imports.existing`).
3. Find the connected components of the chunk's identifiers (scipy); a component that
   touches nothing stored and breaks no limit is trivially safe
   (:mod:`identity.imports.components`).
4. Decide every row in file order in memory: union-find in safe components, the rules'
   own :func:`~identity.resolution.decide` elsewhere (:mod:`identity.imports.replay`).
5. Write everything in bulk (:mod:`identity.imports.writes`).

:func:`row_by_row` is the first engine, kept as the reference the tests compare with:
each row through the online identify path.
"""

from __future__ import annotations

from collections.abc import Sequence

from identity.errors import InvalidInput
from identity.imports.bulk import Bulk
from identity.imports.collector import collector_paused
from identity.imports.components import safe_codes
from identity.imports.existing import load_existing, load_members
from identity.imports.replay import Replay
from identity.imports.rows import ChunkOutcome, ImportRow
from identity.imports.screening import reason_of, screen_rows
from identity.imports.writes import write_chunk
from identity.observation import check_traits, screen
from identity.services.context import WorkspaceContext, utcnow
from identity.services.identify import apply_screened, prior_answer
from identity.store.uow import UnitOfWork

__all__ = ["apply_rows", "row_by_row"]


def apply_rows(
    uow: UnitOfWork, ws: WorkspaceContext, rows: Sequence[ImportRow], trigger: str
) -> ChunkOutcome:
    """Identify ``rows`` in order within ``uow`` (the caller commits).

    ``trigger`` is recorded in the history (``import:<id>``; a row with a message id
    records ``message:<id>``, as identify does). A row whose message id was seen before
    is a ``duplicate``; a row with no usable identifier or bad traits is ``rejected``
    with the reason; the others count as their identify outcome.
    """
    bulk = Bulk(uow.session, uow.sqlite)
    with collector_paused(), bulk.roomy_cache():
        return _apply(bulk, ws, rows, trigger)


def _apply(
    bulk: Bulk, ws: WorkspaceContext, rows: Sequence[ImportRow], trigger: str
) -> ChunkOutcome:
    outcome = ChunkOutcome()
    applied, catalogue = screen_rows(bulk, ws, rows, outcome)
    if not applied:
        return outcome
    existing = load_existing(bulk, ws.id, catalogue)
    safe, unsafe_persons = safe_codes(
        [row.codes for row in applied], catalogue.identifiers, existing.owner, existing.counts,
        existing.holds, ws.policy,
    )  # fmt: skip
    load_members(bulk, existing, unsafe_persons)
    now = utcnow()
    replay = Replay(ws.policy, catalogue, existing, safe, now)
    steps = replay.run(applied)
    write_chunk(bulk, ws, existing, replay, steps, trigger, now)
    outcome.counts.update(step.decision.outcome for step in steps)
    return outcome


def row_by_row(
    uow: UnitOfWork, ws: WorkspaceContext, rows: Sequence[ImportRow], trigger: str
) -> ChunkOutcome:
    """The reference engine: each row through the online identify path, in order."""
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
            outcome.reject(row.line, reason_of(exc))
            continue
        outcome.counts[answer["outcome"]] += 1
    return outcome
