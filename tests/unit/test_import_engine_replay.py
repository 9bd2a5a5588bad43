"""The engine's in-memory replay decides every row as the reference does (hypothesis, no
database): union-find in trivially safe components, ``decide`` elsewhere, over stored
persons and holds."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.identifiers import Identifier
from identity.imports.components import safe_codes
from identity.imports.existing import Existing
from identity.imports.replay import Replay
from identity.imports.screening import Applied, Catalogue
from identity.observation import screen
from identity.policy import Policy, default_policy
from identity.reference import InMemoryIdentityGraph
from identity.store.graph import PersonRow
from tests.oracle import HASHER, T0, observation, random_observations, tight_policy


def stored_state(
    ref: InMemoryIdentityGraph, catalogue: Catalogue, holds: set[tuple[str, str]]
) -> Existing:
    """What the engine would load from a store holding the reference's persons."""
    existing = Existing()
    for code, identifier in enumerate(catalogue.identifiers):
        person = ref.owner(identifier)
        if person is not None:
            existing.owner[code], existing.row_id[code] = person, code + 1
    for person in set(existing.owner.values()):
        created = T0 + timedelta(seconds=int(person[1:]))  # reference ids count up
        existing.persons[person] = PersonRow(person, created, None, [0] * 24)
        existing.members[person] = set(ref.identifiers_of(person))
        groups = Counter(i.group for i in existing.members[person])
        existing.counts.extend((person, k, s, n) for (k, s), n in groups.items())
    existing.holds = {(a, b) for a, b in holds if {a, b} & existing.persons.keys()}
    return existing


def applied_rows(
    observations, policy: Policy, shared: bool = False
) -> tuple[list[Applied], Catalogue]:  # type: ignore[no-untyped-def]
    """The rows as screening gives them; ``shared``: rows with the same codes share one
    list of them (as rows with the same identifier objects do)."""
    catalogue, applied = Catalogue(), []
    lists: dict[tuple[int, ...], list[int]] = {}
    for line, item in enumerate(observations, start=2):
        screened = screen(item.identifiers, policy, HASHER)
        if screened.accepted:
            codes = [catalogue.encode(i) for i in screened.accepted]
            if shared:
                codes = lists.setdefault(tuple(codes), codes)
            applied.append(Applied(line, item, screened, codes))
    return applied, catalogue


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    stored=st.integers(0, 15),
    length=st.integers(1, 60),
    tight=st.booleans(),
    held=st.integers(0, 3),
    shared=st.booleans(),
)
def test_replay_decides_every_row_as_the_reference(seed, stored, length, tight, held, shared):
    policy = tight_policy() if tight else default_policy()
    rng = random.Random(seed)
    ref = InMemoryIdentityGraph(policy)
    for item in random_observations(rng, stored):
        accepted = screen(item.identifiers, policy, HASHER).accepted
        if accepted:
            ref.identify(accepted)
    persons = sorted({ref.owner(i) for p in ref.partition() for i in p} - {None})
    holds = set()
    for _ in range(held if len(persons) > 1 else 0):
        a, b = rng.sample(persons, 2)
        ref.hold_apart(a, b)
        holds.add((a, b))
    before = ref.partition()

    applied, catalogue = applied_rows(random_observations(rng, length), policy, shared)
    existing = stored_state(ref, catalogue, holds)
    rows = [row.codes for row in applied]
    safe, _ = safe_codes(
        rows, catalogue.identifiers, existing.owner, existing.counts, existing.holds, policy
    )
    replay = Replay(policy, catalogue, existing, safe, T0 + timedelta(days=1))
    steps = replay.run(applied)

    same: dict[str, str] = {p: p for p in existing.persons}  # replay person -> reference's
    for step in steps:
        expected = ref.identify(step.row.screened.accepted)
        got = step.decision
        assert (got.outcome, got.identifiers, got.new_identifiers, got.demoted) == (
            expected.outcome, expected.identifiers, expected.new_identifiers, expected.demoted
        )  # fmt: skip
        assert same.setdefault(step.person, str(expected.survivor)) == expected.survivor
        assert [same[a] for a in got.absorbed] == expected.absorbed
    assert partition_after(replay, existing, catalogue, before) == ref.partition()


def test_a_safe_component_is_decided_by_union_find_in_file_order():
    policy = default_policy()
    texts = [["anonymous_id:a", "anonymous_id:b"], ["anonymous_id:c", "anonymous_id:d"],
             ["anonymous_id:b", "anonymous_id:c"], ["anonymous_id:d"]]  # fmt: skip
    applied, catalogue = applied_rows([observation(t) for t in texts], policy)
    safe, _ = safe_codes([r.codes for r in applied], catalogue.identifiers, {}, [], [], policy)
    replay = Replay(policy, catalogue, Existing(), safe, T0)
    steps = replay.run(applied)

    assert bool(np.all(safe))
    assert [s.decision.outcome for s in steps] == ["created", "created", "merged", "matched"]
    first, second = steps[0].person, steps[1].person
    assert first < second and steps[2].decision.absorbed == [second]
    assert {replay.live(p) for p in replay.owner.values()} == {first}


def test_a_row_repeating_an_earlier_rows_identifiers_matches_where_they_went():
    policy = default_policy()
    texts = [["anonymous_id:a", "anonymous_id:b"], ["anonymous_id:c"],
             ["anonymous_id:a", "anonymous_id:b"], ["anonymous_id:b", "anonymous_id:c"],
             ["anonymous_id:a", "anonymous_id:b"], ["anonymous_id:c"]]  # fmt: skip
    applied, catalogue = applied_rows([observation(t) for t in texts], policy, shared=True)
    safe, _ = safe_codes([r.codes for r in applied], catalogue.identifiers, {}, [], [], policy)
    steps = Replay(policy, catalogue, Existing(), safe, T0).run(applied)

    assert applied[0].codes is applied[2].codes is applied[4].codes
    a, b, c = (Identifier("anonymous_id", "", v) for v in "abc")
    outcomes = [(s.decision.outcome, s.decision.new_identifiers) for s in steps]
    assert outcomes == [("created", [a, b]), ("created", [c]), ("matched", []),
                        ("merged", []), ("matched", []), ("matched", [])]  # fmt: skip
    first = steps[0].person
    assert [s.person for s in steps[2:]] == [first] * 4


def test_a_component_over_a_limit_or_joining_persons_held_apart_is_not_safe():
    policy = default_policy()
    texts = [["member_id:1", "anonymous_id:x"], ["member_id:2", "anonymous_id:x"],
             ["anonymous_id:y"], ["anonymous_id:z", "anonymous_id:w"],
             ["anonymous_id:v"]]  # fmt: skip
    applied, catalogue = applied_rows([observation(t) for t in texts], policy)
    stored = {catalogue.encode(Identifier("anonymous_id", "", v)): p
              for v, p in (("z", "p1"), ("w", "p2"), ("v", "p3"))}  # fmt: skip
    counts = [("p1", "anonymous_id", "", 1), ("p2", "anonymous_id", "", 1),
              ("p3", "anonymous_id", "", 2)]  # fmt: skip
    holds = [("p1", "p2"), ("p3", "p9")]
    safe, persons = safe_codes([r.codes for r in applied], catalogue.identifiers, stored, counts,
                               holds, policy)  # fmt: skip

    assert [bool(safe[r.codes[0]]) for r in applied] == [False, False, True, False, True]
    assert persons == {"p1", "p2"}


def test_stored_identifiers_count_towards_a_components_limits():
    policy = tight_policy()  # at most 2 anonymous_id per person
    applied, catalogue = applied_rows([observation(["anonymous_id:x", "member_id:1"])], policy)
    stored = {catalogue.code[Identifier("member_id", "", "1")]: "p1"}
    counts = [("p1", "member_id", "", 1), ("p1", "anonymous_id", "", 2)]
    safe, persons = safe_codes([r.codes for r in applied], catalogue.identifiers, stored, counts,
                               [], policy)  # fmt: skip

    assert not safe.any() and persons == {"p1"}


def partition_after(
    replay: Replay, existing: Existing, catalogue: Catalogue, before: set[frozenset[Identifier]]
) -> set[frozenset[Identifier]]:
    """The persons after the replay: untouched stored ones as they were, the others by
    the final owner of each identifier."""
    groups: dict[str, set[Identifier]] = {}
    touched = set()
    for person, members in existing.members.items():
        groups.setdefault(replay.live(person), set()).update(members)
        touched.add(frozenset(members))
    for code, person in replay.owner.items():
        groups.setdefault(replay.live(person), set()).add(catalogue.identifiers[code])
    return {frozenset(g) for g in groups.values()} | (before - touched)
