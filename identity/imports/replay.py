"""Decide every applied row of a chunk in file order, in memory.

Rows of trivially safe components (see :mod:`identity.imports.components`) take a
union-find shortcut whose decisions equal what :func:`identity.resolution.decide` would
return there; every other row goes through ``decide`` over :class:`ChunkGraph`, a view
of the graph seeded with what the store holds and updated as each row is decided.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from identity.identifiers import Identifier
from identity.ids import new_id
from identity.imports.existing import Existing
from identity.imports.screening import Applied, Catalogue
from identity.policy import Policy
from identity.resolution import Decision, decide, strength_key

__all__ = ["ChunkGraph", "Replay", "Step"]


@dataclass(slots=True)
class Step:
    """One applied row and what the rules decided for it; ``person`` is the person the
    row went to at that moment, ``codes`` the codes of ``decision.identifiers``."""

    row: Applied
    person: str
    decision: Decision
    codes: list[int]


class ChunkGraph:
    """The :class:`~identity.resolution.GraphView` of the stored persons a chunk touches
    plus the persons its rows create, kept as ``decide`` would see it row by row."""

    def __init__(self, existing: Existing, now: datetime) -> None:
        self.now = now
        self._owner: dict[Identifier, str] = {}
        self._members: dict[str, set[Identifier]] = {}
        self._age: dict[str, tuple[datetime, str]] = {}
        for person, row in existing.persons.items():
            self._members[person] = set(existing.members[person])
            self._age[person] = (row.created_at, person)
            for identifier in self._members[person]:
                self._owner[identifier] = person
        self._holds: dict[str, set[str]] = defaultdict(set)
        for a, b in existing.holds:
            self._holds[a].add(b)
            self._holds[b].add(a)

    def owner(self, identifier: Identifier) -> str | None:
        return self._owner.get(identifier)

    def identifiers_of(self, person_id: str) -> Collection[Identifier]:
        return self._members[person_id]

    def age_key(self, person_id: str) -> tuple[datetime, str]:
        return self._age[person_id]

    def held_apart(self, person_ids: Collection[str]) -> bool:
        return any(b in self._holds.get(a, ()) for a, b in itertools.combinations(person_ids, 2))

    def apply(self, decision: Decision, person: str) -> None:
        """Make the decided change: a new person, attached identifiers, merges."""
        if person not in self._members:
            self._members[person] = set()
            self._age[person] = (self.now, person)
        members = self._members[person]
        for absorbed in decision.absorbed:
            moved = self._members.pop(absorbed)
            members |= moved
            for identifier in moved:
                self._owner[identifier] = person
            for partner in self._holds.pop(absorbed, set()):
                self._holds[partner].discard(absorbed)
                if partner != person:
                    self._holds[partner].add(person)
                    self._holds[person].add(partner)
        for identifier in decision.new_identifiers:
            self._owner[identifier] = person
        members.update(decision.new_identifiers)


class Replay:
    """Runs the rows; afterwards :meth:`live` names each person's survivor and
    :attr:`owner` (through :meth:`live`) each identifier's final person."""

    def __init__(
        self,
        policy: Policy,
        catalogue: Catalogue,
        existing: Existing,
        safe: NDArray[np.bool_],
        now: datetime,
    ) -> None:
        self.policy = policy
        self.catalogue = catalogue
        self.safe = safe
        self.graph = ChunkGraph(existing, now)
        self.owner: dict[int, str] = dict(existing.owner)
        self.alias: dict[str, str] = {}
        key = strength_key(policy)
        self.strength = [key(i) for i in catalogue.identifiers]

    def run(self, rows: Sequence[Applied]) -> list[Step]:
        safe = self.safe
        return [self._fast(row) if safe[row.codes[0]] else self._decide(row) for row in rows]

    def live(self, person: str) -> str:
        """The person ``person`` ended in (itself unless absorbed)."""
        alias = self.alias
        root = person
        while root in alias:
            root = alias[root]
        while person != root:  # flatten the chain for the next look-up
            alias[person], person = root, alias[person]
        return root

    def _fast(self, row: Applied) -> Step:
        owner, identifiers = self.owner, self.catalogue.identifiers
        codes = sorted(row.codes, key=self.strength.__getitem__)
        persons = {self.live(owner[c]) for c in codes if c in owner}
        new_codes = [c for c in codes if c not in owner]
        if persons:
            survivor, *absorbed = sorted(persons)  # same created_at: id order is age
            outcome = "merged" if absorbed else "matched"
        else:
            survivor, absorbed, outcome = new_id("p_"), [], "created"
        for code in new_codes:
            owner[code] = survivor
        for person in absorbed:
            self.alias[person] = survivor
        decision = Decision(
            outcome,
            None if outcome == "created" else survivor,
            absorbed,
            [identifiers[c] for c in codes],
            [identifiers[c] for c in new_codes],
        )
        return Step(row, survivor, decision, codes)

    def _decide(self, row: Applied) -> Step:
        decision = decide(row.screened.accepted, self.graph, self.policy)
        person = decision.survivor or new_id("p_")
        self.graph.apply(decision, person)
        code = self.catalogue.code
        for identifier in decision.new_identifiers:
            self.owner[code[identifier]] = person
        for absorbed in decision.absorbed:
            self.alias[absorbed] = person
        return Step(row, person, decision, [code[i] for i in decision.identifiers])
