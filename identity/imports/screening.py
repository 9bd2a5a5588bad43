"""Screening a chunk of rows at once: each distinct raw identifier is normalised (and
hashed) once, message ids and suppressions are looked up in bulk, and every row ends
as applied, duplicate or rejected exactly as identifying it alone would decide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select

from identity.errors import InvalidInput
from identity.identifiers import Identifier
from identity.imports.bulk import Bulk
from identity.imports.rows import ChunkOutcome, ImportRow
from identity.observation import (
    IdentifierNote,
    Observation,
    RawIdentifier,
    Screened,
    check_traits,
    screen,
)
from identity.services.context import WorkspaceContext
from identity.services.identify import drop_suppressed
from identity.store.models import Message, Suppression, table

__all__ = ["Applied", "Catalogue", "screen_rows"]


@dataclass(slots=True)
class Applied:
    """A row that reaches the rules: its screening and its identifiers' codes."""

    line: int
    observation: Observation
    screened: Screened
    codes: list[int]


@dataclass
class Catalogue:
    """The distinct identifiers of a chunk, numbered ``0..n-1`` in order of appearance."""

    identifiers: list[Identifier] = field(default_factory=list)
    code: dict[Identifier, int] = field(default_factory=dict)

    def encode(self, identifier: Identifier) -> int:
        found = self.code.get(identifier)
        if found is None:
            found = self.code[identifier] = len(self.identifiers)
            self.identifiers.append(identifier)
        return found


class _Screener:
    """Screens raw identifiers through a cache keyed by the raw identifier."""

    def __init__(self, ws: WorkspaceContext, catalogue: Catalogue) -> None:
        self.ws = ws
        self.catalogue = catalogue
        self.cache: dict[RawIdentifier, tuple[Identifier, int] | IdentifierNote] = {}

    def one(self, item: RawIdentifier) -> tuple[Identifier, int] | IdentifierNote:
        found = self.cache.get(item)
        if found is None:
            alone = screen([item], self.ws.policy, self.ws.hasher)
            if alone.accepted:
                identifier = alone.accepted[0]
                found = (identifier, self.catalogue.encode(identifier))
            else:
                found = (alone.ignored or alone.rejected)[0]
            self.cache[item] = found
        return found

    def row(self, raw: Sequence[RawIdentifier]) -> tuple[Screened, list[int]]:
        """What :func:`identity.observation.screen` gives, plus the accepted codes."""
        screened = Screened()
        codes: list[int] = []
        for index, item in enumerate(raw):
            found = self.one(item)
            if isinstance(found, IdentifierNote):
                note = replace(found, index=index) if index else found
                target = screened.ignored if note.reason == "blocked value" else screened.rejected
                target.append(note)
            elif found[1] not in codes:
                screened.accepted.append(found[0])
                codes.append(found[1])
        return screened, codes


def screen_rows(
    bulk: Bulk, ws: WorkspaceContext, rows: Sequence[ImportRow], outcome: ChunkOutcome
) -> tuple[list[Applied], Catalogue]:
    """Screen ``rows`` in order; count duplicates and rejects into ``outcome`` and return
    the rows that go on to the rules, with the chunk's identifier catalogue."""
    catalogue = Catalogue()
    screener = _Screener(ws, catalogue)
    for row in rows:
        for item in row.observation.identifiers:
            screener.one(item)
    gone = _suppressed(bulk, ws, catalogue)
    known = _known_messages(bulk, ws, rows)
    applied: list[Applied] = []
    for row in rows:
        observation = row.observation
        message_id = observation.message_id
        if message_id and message_id in known:
            outcome.counts["duplicate"] += 1
            continue
        try:
            if observation.traits:
                check_traits(observation.traits, ws.policy)
            screened, codes = screener.row(observation.identifiers)
            screened.refuse_if_empty()
            if gone and not gone.isdisjoint(codes):
                codes = _drop(ws, screened, observation, codes, gone, catalogue)
        except InvalidInput as exc:
            outcome.reject(row.line, reason_of(exc))
            continue
        if message_id:
            known.add(message_id)
        applied.append(Applied(row.line, observation, screened, codes))
    return applied, catalogue


def reason_of(exc: InvalidInput) -> str:
    """The reject reason of a row: the error and each field's problem."""
    details = "; ".join(f"{where}: {why}" for where, why in (exc.errors or {}).items())
    return f"{exc.detail} ({details})" if details else exc.detail


def _drop(
    ws: WorkspaceContext,
    screened: Screened,
    observation: Observation,
    codes: list[int],
    gone: set[int],
    catalogue: Catalogue,
) -> list[int]:
    hits = {catalogue.identifiers[c] for c in codes if c in gone}
    drop_suppressed(ws, screened, observation, hits)
    return [c for c in codes if c not in gone]


def _suppressed(bulk: Bulk, ws: WorkspaceContext, catalogue: Catalogue) -> set[int]:
    """Codes of the chunk's identifiers that were erased (their keyed hash is kept)."""
    s = table(Suppression).c
    if (
        bulk.session.execute(select(s.key_hash).where(s.workspace_id == ws.id).limit(1)).first()
        is None
    ):
        return set()
    keys = {ws.suppression_key(i): code for code, i in enumerate(catalogue.identifiers)}
    hits = bulk.select_in(
        lambda chunk: select(s.key_hash).where(s.workspace_id == ws.id, s.key_hash.in_(chunk)),
        keys,
    )
    return {keys[key] for (key,) in hits}


def _known_messages(bulk: Bulk, ws: WorkspaceContext, rows: Sequence[ImportRow]) -> set[str]:
    """The chunk's message ids that the workspace has already answered."""
    m = table(Message).c
    wanted = {r.observation.message_id for r in rows if r.observation.message_id}
    hits = bulk.select_in(
        lambda chunk: select(m.message_id).where(m.workspace_id == ws.id, m.message_id.in_(chunk)),
        wanted,
    )
    return {message_id for (message_id,) in hits}
