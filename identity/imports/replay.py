"""Decide every applied row of a chunk in file order, in memory.

Rows of trivially safe components (see :mod:`identity.imports.components`) take a
union-find shortcut whose decisions equal what :func:`identity.resolution.decide` would
return there; every other row goes through ``decide`` over :class:`ChunkGraph`, a view
of the graph seeded with what the store holds and updated as each row is decided.
"""

from __future__ import annotations

import base64
import itertools
import os
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from identity.identifiers import Identifier
from identity.imports.existing import Existing
from identity.imports.screening import Applied, Catalogue
from identity.policy import Policy
from identity.resolution import Decision, decide, strength_key

__all__ = ["ChunkGraph", "PersonIds", "Replay", "Step"]

_BLOCK = 1024
_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)


@dataclass(slots=True)
class Step:
    """One applied row and what the rules decided for it; ``person`` is the person the
    row went to at that moment, ``codes`` the codes of ``decision.identifiers``."""

    row: Applied
    person: str
    decision: Decision
    codes: list[int]


class PersonIds:
    """Person ids in the layout of :func:`identity.ids.new_id` (``p_`` + a 26-character
    time-ordered id), made a block at a time: each is greater than the one before.

    >>> ids = PersonIds()
    >>> a, b = ids(), ids()
    >>> a < b, len(a), a[:2]
    (True, 28, 'p_')
    """

    def __init__(self) -> None:
        self._pool: list[str] = []
        self._ms = 0

    def __call__(self) -> str:
        if not self._pool:
            self._refill()
        return self._pool.pop()

    def _refill(self) -> None:
        self._ms = ms = max(int(time.time() * 1000), self._ms + 1)
        noise = os.urandom(10 * _BLOCK)
        tails = sorted(
            {int.from_bytes(noise[k : k + 10], "big") for k in range(0, len(noise), 10)},
            reverse=True,  # popped from the end: smallest first
        )
        # 20 bytes are 32 base-32 digits; the id is the last 26 (the first six are zero)
        self._pool = [
            "p_"
            + base64.b32encode(((ms << 80) | t).to_bytes(20, "big"))
            .translate(_CROCKFORD)[6:]
            .decode()
            for t in tails
        ]


class ChunkGraph:
    """The :class:`~identity.resolution.GraphView` of the stored persons a chunk touches
    plus the persons its rows create, kept as ``decide`` would see it row by row."""

    def __init__(self, existing: Existing, now: datetime) -> None:
        self.now = now
        self._owner: dict[Identifier, str] = {}
        self._members: dict[str, set[Identifier]] = {}
        self._age: dict[str, tuple[datetime, str]] = {}
        for person, members in existing.members.items():  # the persons the rules may see
            self._members[person] = set(members)
            self._age[person] = (existing.persons[person].created_at, person)
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
        self.now = now
        self.catalogue = catalogue
        self.safe = safe
        self.graph = ChunkGraph(existing, now)
        self.owner: dict[int, str] = dict(existing.owner)
        self.alias: dict[str, str] = {}
        self.rank: list[int] = []  # code -> place in strength order (the rows' codes)
        self.new_person = PersonIds()
        self.age = {p: (row.created_at, p) for p, row in existing.persons.items()}
        # rows seen before whose identifiers all went to one person, by their (shared)
        # list of codes: that person, a plain match of it, the codes in strength order
        self.again: dict[int, tuple[str, Decision, list[int]]] = {}

    def run(self, rows: Sequence[Applied]) -> list[Step]:
        self._rank_codes(len(self.catalogue.identifiers))
        safe = self.safe.tolist()
        again = self.again
        return [
            self._repeat(row, found) if (found := again.get(id(row.codes)))
            else self._fast(row) if safe[row.codes[0]] else self._decide(row)
            for row in rows
        ]  # fmt: skip

    def _rank_codes(self, count: int) -> None:
        key = strength_key(self.policy)
        priority: dict[str, int] = {}  # the first part of the key, once per kind
        keys = []
        for i in self.catalogue.identifiers[:count]:
            first = priority.get(i.kind)
            if first is None:
                first = priority[i.kind] = key(i)[0]
            keys.append((first, i.kind, i.scope, i.value))
        self.rank = [0] * count
        for place, code in enumerate(sorted(range(count), key=keys.__getitem__)):
            self.rank[code] = place

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
        owner, identifiers, alias = self.owner, self.catalogue.identifiers, self.alias
        codes = self._strongest_first(row.codes)
        persons: list[str] = []  # the live persons the row touches, in its order
        new_codes = []
        for code in codes:
            person = owner.get(code)
            if person is None:
                new_codes.append(code)
                continue
            if person in alias:
                person = self.live(person)
            if person not in persons:
                persons.append(person)
        if len(persons) == 1:
            survivor, absorbed, outcome = persons[0], [], "matched"
        elif persons:
            survivor, *absorbed = sorted(persons, key=self._age_key)
            outcome = "merged"
            for person in absorbed:
                alias[person] = survivor
        else:
            survivor, absorbed, outcome = self.new_person(), [], "created"
        for code in new_codes:
            owner[code] = survivor
        decision = Decision(
            outcome,
            None if outcome == "created" else survivor,
            absorbed,
            [identifiers[c] for c in codes],
            [identifiers[c] for c in new_codes] if new_codes else [],
            [],
            {},
        )
        self.again[id(row.codes)] = (survivor, _matched(survivor, decision.identifiers), codes)
        return Step(row, survivor, decision, codes)

    def _repeat(self, row: Applied, found: tuple[str, Decision, list[int]]) -> Step:
        """A row with the codes of an earlier row whose identifiers all went to one
        person. They stay together (an identifier only ever moves with a merge), so the
        rules find that person (or the one it ended in) alone, with every identifier of
        the row among its own: no limit can break (the row adds no value to any group)
        and no hold applies. The row matches it and adds nothing."""
        person, decision, codes = found
        if person in self.alias:
            person = self.live(person)
            decision = _matched(person, decision.identifiers)
            self.again[id(row.codes)] = (person, decision, codes)
        return Step(row, person, decision, codes)

    def _strongest_first(self, codes: list[int]) -> list[int]:
        """``codes`` in strength order (the rows' order of rule 6); most rows carry one or
        two."""
        if len(codes) < 2:
            return codes
        rank = self.rank
        if len(codes) == 2:
            first, second = codes
            return codes if rank[first] < rank[second] else [second, first]
        return sorted(codes, key=rank.__getitem__)

    def _age_key(self, person: str) -> tuple[datetime, str]:
        """Oldest first: stored persons by ``(created_at, id)``; the chunk's own share
        its time, and their ids increase in the order they were made."""
        return self.age.get(person) or (self.now, person)

    def _decide(self, row: Applied) -> Step:
        decision = decide(row.screened.accepted, self.graph, self.policy)
        person = decision.survivor or self.new_person()
        self.graph.apply(decision, person)
        code = self.catalogue.code
        for identifier in decision.new_identifiers:
            self.owner[code[identifier]] = person
        for absorbed in decision.absorbed:
            self.alias[absorbed] = person
        codes = [code[i] for i in decision.identifiers]
        if not decision.demoted:  # every identifier of the row went to ``person``
            self.again[id(row.codes)] = (person, _matched(person, decision.identifiers), codes)
        return Step(row, person, decision, codes)


def _matched(person: str, identifiers: list[Identifier]) -> Decision:
    """The decision of a row whose identifiers all belong to ``person`` already."""
    return Decision("matched", person, [], identifiers, [], [], {})
