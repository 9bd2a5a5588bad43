"""The resolution rules of SPEC section 3, as one pure function over a view of the graph.

The database-backed service, the batch import engine and the in-memory reference all
call :func:`decide`; they differ only in how they read the graph and apply the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from identity.identifiers import Identifier
from identity.policy import Policy

__all__ = ["Decision", "GraphView", "decide", "strength_key"]


class GraphView(Protocol):
    """What the rules need to know about the graph as it stands."""

    def owner(self, identifier: Identifier) -> str | None: ...

    def identifiers_of(self, person_id: str) -> Collection[Identifier]: ...

    def age_key(self, person_id: str) -> Any:
        """Sorts the oldest person first: ``(created_at, person_id)``."""
        ...

    def held_apart(self, person_ids: Collection[str]) -> bool: ...


@dataclass
class Decision:
    """What an observation does to the graph."""

    outcome: str  # created | matched | merged
    survivor: str | None  # None when a person is to be created
    absorbed: list[str] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)  # strongest first
    new_identifiers: list[Identifier] = field(default_factory=list)
    demoted: list[Identifier] = field(default_factory=list)
    reasons: dict[Identifier, str] = field(default_factory=dict)  # why each was demoted

    @property
    def links(self) -> list[tuple[Identifier, Identifier]]:
        """Rule 6: from the strongest identifier to each other one."""
        head, *rest = self.identifiers
        return [(head, other) for other in rest]


def strength_key(policy: Policy) -> Callable[[Identifier], tuple[int, str, str, str]]:
    """Sorts the strongest identifier first: lower priority, then kind, scope, value."""

    def key(identifier: Identifier) -> tuple[int, str, str, str]:
        rule = policy.kinds.get(identifier.kind)
        priority = rule.priority if rule else 1_000_000
        return (priority, identifier.kind, identifier.scope, identifier.value)

    return key


def decide(accepted: Iterable[Identifier], view: GraphView, policy: Policy) -> Decision:
    """Apply rules 2-5 to the accepted identifiers of one observation.

    >>> from identity.reference import InMemoryIdentityGraph
    >>> from identity.policy import default_policy
    >>> g = InMemoryIdentityGraph(default_policy())
    >>> a, b = Identifier("login_id", "app", "A"), Identifier("login_id", "app", "B")
    >>> e = Identifier("email", "", "h1")
    >>> g.identify([a, e]).outcome
    'created'
    >>> d = g.identify([b, e])
    >>> d.outcome, [str(i) for i in d.demoted]
    ('created', ['email:h1'])
    """
    key = strength_key(policy)
    remaining = sorted(set(accepted), key=key)
    if not remaining:
        raise ValueError("decide needs at least one accepted identifier")
    demoted: list[Identifier] = []
    reasons: dict[Identifier, str] = {}
    while True:
        owners = {i: view.owner(i) for i in remaining}
        persons = {p for p in owners.values() if p is not None}
        over = _groups_over_limit(remaining, persons, view, policy)
        if not over and not (len(persons) > 1 and view.held_apart(persons)):
            break
        involved = [i for i in remaining if owners[i] is not None or i.group in over]
        weakest = max(involved, key=key)
        remaining.remove(weakest)
        demoted.append(weakest)
        reasons[weakest] = _reason(weakest, over, policy)
    new = [i for i in remaining if owners[i] is None]
    decision = _outcome(remaining, new, demoted, persons, view)
    decision.reasons = reasons
    return decision


def _reason(weakest: Identifier, over: set[tuple[str, str]], policy: Policy) -> str:
    if weakest.group in over:
        limit = policy.kinds[weakest.kind].limit
        return f"the person would exceed the limit of {limit} {weakest.kind}"
    if over:
        kinds = ", ".join(sorted(kind for kind, _ in over))
        return f"owned by a person that cannot join without exceeding the limit of {kinds}"
    return "owned by a person held apart from the others"


def _outcome(
    remaining: list[Identifier],
    new: list[Identifier],
    demoted: list[Identifier],
    persons: set[str],
    view: GraphView,
) -> Decision:
    if not persons:
        return Decision("created", None, [], remaining, new, demoted)
    oldest_first = sorted(persons, key=view.age_key)
    survivor, absorbed = oldest_first[0], oldest_first[1:]
    outcome = "merged" if absorbed else "matched"
    return Decision(outcome, survivor, absorbed, remaining, new, demoted)


def _groups_over_limit(
    remaining: list[Identifier], persons: set[str], view: GraphView, policy: Policy
) -> set[tuple[str, str]]:
    """The ``(kind, scope)`` groups the would-be person breaks.

    A group already over its limit in one existing person (after a forced merge or a
    lowered limit) counts only if this observation makes it larger still.
    """
    combined: dict[tuple[str, str], set[str]] = {}
    largest: dict[tuple[str, str], int] = {}
    for person in persons:
        own: dict[tuple[str, str], int] = {}
        for identifier in view.identifiers_of(person):
            group = (identifier.kind, identifier.scope)
            values = combined.get(group)
            if values is None:
                values = combined[group] = set()
            values.add(identifier.value)
            own[group] = own.get(group, 0) + 1
        for group, count in own.items():
            if count > largest.get(group, 0):
                largest[group] = count
    for identifier in remaining:
        group = (identifier.kind, identifier.scope)
        values = combined.get(group)
        if values is None:
            values = combined[group] = set()
        values.add(identifier.value)
    over = set()
    kinds = policy.kinds
    for group, values in combined.items():
        rule = kinds.get(group[0])
        if rule and len(values) > rule.limit and len(values) > largest.get(group, 0):
            over.add(group)
    return over
