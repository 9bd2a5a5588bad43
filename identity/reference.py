"""A tiny in-memory identity graph: the reference the stores are tested against."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable

from identity.identifiers import Identifier
from identity.policy import Policy
from identity.resolution import Decision, decide

__all__ = ["InMemoryIdentityGraph"]


class InMemoryIdentityGraph:
    """Applies :func:`identity.resolution.decide` to dictionaries.

    >>> from identity.policy import default_policy
    >>> g = InMemoryIdentityGraph(default_policy())
    >>> g.identify([Identifier("idfa", "", "X")]).outcome
    'created'
    >>> g.partition()
    {frozenset({Identifier(kind='idfa', scope='', value='X')})}
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._owner: dict[Identifier, str] = {}
        self._members: dict[str, set[Identifier]] = {}
        self._alias: dict[str, str] = {}
        self._holds: set[frozenset[str]] = set()
        self._ids = (f"r{n:08d}" for n in itertools.count(1))

    # -- the GraphView protocol -------------------------------------------------------
    def owner(self, identifier: Identifier) -> str | None:
        return self._owner.get(identifier)

    def identifiers_of(self, person_id: str) -> Collection[Identifier]:
        return self._members[person_id]

    def age_key(self, person_id: str) -> str:
        return person_id  # ids are handed out in creation order

    def held_apart(self, person_ids: Collection[str]) -> bool:
        return any(frozenset(pair) in self._holds for pair in itertools.combinations(person_ids, 2))

    # -- operations ---------------------------------------------------------------------
    def identify(self, accepted: Iterable[Identifier]) -> Decision:
        decision = decide(accepted, self, self.policy)
        person = decision.survivor or next(self._ids)
        decision.survivor = person
        members = self._members.setdefault(person, set())
        for absorbed in decision.absorbed:
            members |= self._members.pop(absorbed)
            self._alias[absorbed] = person
            self._holds = {
                frozenset(person if p == absorbed else p for p in pair) for pair in self._holds
            }
        members.update(decision.identifiers)
        for identifier in members:
            self._owner[identifier] = person
        return decision

    def resolve(self, person_id: str) -> str:
        while person_id in self._alias:
            person_id = self._alias[person_id]
        return person_id

    def hold_apart(self, a: str, b: str) -> None:
        self._holds.add(frozenset((a, b)))

    def partition(self) -> set[frozenset[Identifier]]:
        """The persons as sets of identifiers: what two stores must agree on."""
        return {frozenset(m) for m in self._members.values()}
