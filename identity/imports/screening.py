"""Screening a chunk of rows at once: each distinct raw identifier is normalised (and
hashed) once, message ids and suppressions are looked up in bulk, and every row ends
as applied, duplicate or rejected exactly as identifying it alone would decide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from identity.errors import InvalidInput
from identity.identifiers import Identifier
from identity.imports.bulk import Bulk
from identity.imports.rows import ChunkOutcome, ImportRow
from identity.observation import (
    IdentifierNote,
    Observation,
    RawIdentifier,
    RawKey,
    Screened,
    ScreeningMemory,
    check_traits,
    screen_one,
    screened_from,
)
from identity.services.context import WorkspaceContext
from identity.services.identify import drop_suppressed
from identity.store.models import Message, Suppression, table

__all__ = ["Applied", "Catalogue", "screen_rows"]


@dataclass(slots=True)
class Applied:
    """A row that reaches the rules: its screening and its identifiers' codes (rows with
    the same identifiers share both: neither is changed after screening)."""

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
        found = self.code.setdefault(identifier, len(self.identifiers))
        if found == len(self.identifiers):
            self.identifiers.append(identifier)
        return found


_Found = tuple[Identifier, int] | IdentifierNote  # an identifier and its code, or why not

#: The screening of raw identifiers, kept from one chunk to the next (an export names
#: the same identifiers again and again).
_remembered = ScreeningMemory(2_000_000)


#: A row's screening: when every identifier is usable and none repeats (the common row),
#: its screening and codes, shared by the rows with the same identifier objects (never
#: changed: a suppression screens a copy); else how each of its identifiers screened.
_RowFound = tuple[Screened, list[int]] | list[_Found]


class _Screener:
    """Screens the raw identifiers of a chunk's rows through caches keyed by the raw
    identifier and, quicker, by the object. A reader hands out one object for the same
    raw identifier again and again (:meth:`RowParser.parse_many`), and the rows keep
    their objects alive while the chunk is screened, so ids name them meanwhile; a row
    with the same objects as an earlier row screens as it did."""

    def __init__(self, ws: WorkspaceContext, catalogue: Catalogue) -> None:
        self.ws = ws
        self.catalogue = catalogue
        self.cache: dict[RawKey, _Found] = {}
        self.by_id: dict[int, _Found] = {}
        self.rows_seen: dict[tuple[int, ...], _RowFound] = {}
        self.remembered = _remembered.outcomes(ws.policy, ws.hasher)

    def rows(self, rows: Sequence[ImportRow]) -> list[_RowFound]:
        seen, row_of = self.rows_seen.get, self.row_of
        return [seen(key := tuple(map(id, row.observation.identifiers)))
                or row_of(key, row.observation) for row in rows]  # fmt: skip

    def row_of(self, key: tuple[int, ...], observation: Observation) -> _RowFound:
        by_id, one = self.by_id.get, self.one
        # A _Found is never false (a pair, or a note), so ``or`` asks ``one`` for a miss.
        found = [by_id(id(item)) or one(item) for item in observation.identifiers]
        row: _RowFound = found
        try:  # the common row: every identifier usable (a note is no pair), none repeated
            identifiers, codes = zip(*found, strict=True) if found else ((), ())
            if len(codes) < 2 or len(set(codes)) == len(codes):
                row = Screened(list(identifiers), [], []), list(codes)
        except TypeError:
            pass
        self.rows_seen[key] = row
        return row

    def one(self, item: RawIdentifier) -> _Found:
        key = (item.kind, item.value, item.scope)  # hashed quicker than the dataclass
        found = self.cache.get(key)
        if found is None:
            outcome = self.remembered.get(key)
            if outcome is None:
                outcome = screen_one(0, item, self.ws.policy, self.ws.hasher)
                self.remembered[key] = outcome
            if isinstance(outcome, Identifier):
                found = (outcome, self.catalogue.encode(outcome))
            else:
                found = outcome
            self.cache[key] = found
        self.by_id[id(item)] = found
        return found


def _screened(found: list[_Found]) -> tuple[Screened, list[int]]:
    """What :func:`identity.observation.screen` gives for a row whose identifiers
    screened one by one are ``found``, plus the accepted codes."""
    screened = screened_from([f if isinstance(f, IdentifierNote) else f[0] for f in found])
    codes = [f[1] for f in found if type(f) is tuple]
    return screened, list(dict.fromkeys(codes))


def screen_rows(
    bulk: Bulk, ws: WorkspaceContext, rows: Sequence[ImportRow], outcome: ChunkOutcome
) -> tuple[list[Applied], Catalogue]:
    """Screen ``rows`` in order; count duplicates and rejects into ``outcome`` and return
    the rows that go on to the rules, with the chunk's identifier catalogue."""
    catalogue = Catalogue()
    screener = _Screener(ws, catalogue)
    found = screener.rows(rows)
    gone = _suppressed(bulk, ws, catalogue)
    known = _known_messages(bulk, ws, rows)
    applied: list[Applied] = []
    for row, items in zip(rows, found, strict=True):
        observation = row.observation
        message_id = observation.message_id
        if message_id and message_id in known:
            outcome.counts["duplicate"] += 1
            continue
        try:
            if observation.traits:
                check_traits(observation.traits, ws.policy)
            if type(items) is tuple:  # the common row, shared with its copies
                screened, codes = items
            else:
                screened, codes = _screened(items)  # type: ignore[arg-type]
            screened.refuse_if_empty()
            if gone and not gone.isdisjoint(codes):
                screened, codes = _drop(ws, screened, observation, codes, gone, catalogue)
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
) -> tuple[Screened, list[int]]:
    """The row's screening and codes without the erased identifiers (``screened``, which
    other rows may share, is left as it is)."""
    hits = {catalogue.identifiers[c] for c in codes if c in gone}
    screened = Screened(list(screened.accepted), list(screened.ignored), list(screened.rejected))
    drop_suppressed(ws, screened, observation, hits)
    return screened, [c for c in codes if c not in gone]


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
