"""Property tests of the resolution rules against the reference graph.

Small alphabets (three values per ``(kind, scope)``) and, half the time, a policy with
small limits make random sequences share identifiers, merge persons and hit limits.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.identifiers import Identifier
from identity.policy import Policy, default_policy
from identity.reference import InMemoryIdentityGraph
from tests.oracle import tight_policy

GROUPS = [
    ("login_id", "app1"),
    ("login_id", "app2"),
    ("member_id", ""),
    ("phone", ""),
    ("email", ""),
    ("wechat_unionid", "open1"),
    ("wechat_openid", "wxA"),
    ("wechat_openid", "wxB"),
    ("idfa", ""),
    ("anonymous_id", ""),
]
identifiers = st.builds(
    lambda group, value: Identifier(group[0], group[1], value),
    st.sampled_from(GROUPS),
    st.sampled_from("abc"),
)
observations = st.lists(identifiers, min_size=1, max_size=4)
sequences = st.lists(observations, min_size=1, max_size=20)
policies = st.sampled_from([default_policy(), tight_policy()])
holds = st.tuples(st.just("hold"), st.integers(0, 30), st.integers(0, 30))
steps = st.lists(st.one_of(observations, observations, holds), min_size=1, max_size=20)

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


def live_owner(graph: InMemoryIdentityGraph, identifier: Identifier) -> str:
    owner = graph.owner(identifier)
    assert owner is not None, f"{identifier} has no person"
    assert graph.resolve(owner) == owner, f"{identifier} belongs to the alias {owner}"
    assert identifier in graph.identifiers_of(owner)
    return owner


def check_one_live_person_each(graph: InMemoryIdentityGraph, seen: set[Identifier]) -> None:
    persons = graph.partition()
    everyone = [i for person in persons for i in person]
    assert len(everyone) == len(set(everyone)), "an identifier is in two persons"
    assert set(everyone) == seen
    for identifier in seen:
        live_owner(graph, identifier)


def check_limits(graph: InMemoryIdentityGraph, policy: Policy) -> None:
    for person in graph.partition():
        for (kind, scope), count in Counter(i.group for i in person).items():
            assert count <= policy.kinds[kind].limit, f"{count} {kind}@{scope} in one person"


def apply(graph: InMemoryIdentityGraph, step: object, seen: set[Identifier]) -> None:
    if isinstance(step, tuple):
        persons = sorted({graph.owner(i) for i in seen} - {None})
        if len(persons) >= 2:
            a, b = persons[step[1] % len(persons)], persons[step[2] % len(persons)]
            if a != b:
                graph.hold_apart(str(a), str(b))
        return
    assert isinstance(step, list)
    seen.update(graph.identify(step).identifiers)


@PROPERTY_SETTINGS
@given(policies, steps)
def test_every_identifier_has_exactly_one_live_person(policy, steps):
    graph, seen = InMemoryIdentityGraph(policy), set()
    for step in steps:
        apply(graph, step, seen)
        check_one_live_person_each(graph, seen)


@PROPERTY_SETTINGS
@given(policies, steps)
def test_no_person_ever_exceeds_a_limit(policy, steps):
    graph, seen = InMemoryIdentityGraph(policy), set()
    for step in steps:
        apply(graph, step, seen)
        check_limits(graph, policy)


@PROPERTY_SETTINGS
@given(policies, sequences, st.randoms(use_true_random=False))
def test_a_person_already_over_a_lowered_limit_only_never_grows_in_that_kind(policy, sequence, rng):
    graph = InMemoryIdentityGraph(default_policy())
    for observation in sequence:
        graph.identify(observation)
    before = {p: Counter(i.group for i in graph.identifiers_of(p)) for p in _live(graph)}
    graph.policy = policy
    for observation in rng.sample(sequence, len(sequence)):
        graph.identify(observation)
    for person in _live(graph):
        now = Counter(i.group for i in graph.identifiers_of(person))
        for group, count in now.items():
            allowed = max(policy.kinds[group[0]].limit, before.get(person, Counter())[group])
            assert count <= allowed


@PROPERTY_SETTINGS
@given(policies, steps)
def test_a_merge_never_loses_an_identifier_and_persons_only_grow(policy, steps):
    graph, seen = InMemoryIdentityGraph(policy), set()
    for step in steps:
        before = graph.partition()
        owners_before = {i: graph.owner(i) for i in seen}
        apply(graph, step, seen)
        after = graph.partition()
        for person in before:
            assert any(person <= grown for grown in after), "a person lost an identifier"
        if isinstance(step, list):
            for identifier in step:
                if owners_before.get(identifier) is None and graph.owner(identifier) is None:
                    continue  # a new identifier that was demoted
                assert graph.owner(identifier) is not None


@PROPERTY_SETTINGS
@given(policies, sequences)
def test_a_decision_keeps_its_identifiers_in_the_survivor_and_leaves_new_demoted_ones_out(
    policy, sequence
):
    graph = InMemoryIdentityGraph(policy)
    for observation in sequence:
        owned_before = {i for i in observation if graph.owner(i) is not None}
        decision = graph.identify(observation)
        survivor = set(graph.identifiers_of(str(decision.survivor)))
        assert set(decision.identifiers) <= survivor
        for identifier in set(decision.demoted) - owned_before:
            assert graph.owner(identifier) is None, "a demoted new identifier was kept"
        assert (decision.outcome == "created") == (not owned_before & set(decision.identifiers))


@PROPERTY_SETTINGS
@given(policies, sequences)
def test_repeating_the_last_observation_changes_no_person(policy, sequence):
    graph = InMemoryIdentityGraph(policy)
    for observation in sequence:
        graph.identify(observation)
    before = graph.partition()

    decision = graph.identify(sequence[-1])

    assert (decision.outcome, graph.partition()) == ("matched", before)


@PROPERTY_SETTINGS
@given(policies, observations)
def test_a_decision_accounts_for_every_identifier_once(policy, observation):
    graph = InMemoryIdentityGraph(policy)
    decision = graph.identify(observation)

    assert sorted(decision.identifiers + decision.demoted) == sorted(set(observation))
    assert decision.identifiers, "an observation always keeps at least one identifier"


@PROPERTY_SETTINGS
@given(policies, sequences, st.randoms(use_true_random=False))
def test_the_order_and_repetition_of_identifiers_in_an_observation_do_not_matter(
    policy, sequence, rng
):
    shuffled = [rng.sample(o, len(o)) + o[: rng.randint(0, len(o))] for o in sequence]

    assert _partition(policy, sequence) == _partition(policy, shuffled)


@PROPERTY_SETTINGS
@given(policies, sequences)
def test_a_batch_split_into_connected_components_gives_the_persons_of_one_by_one(policy, sequence):
    """What a batch engine may do (SPEC section 9): apply the rules to each connected
    component of the file on its own, in file order, and take the union."""
    together = nx.Graph()
    for n, observation in enumerate(sequence):
        together.add_node(("observation", n))
        together.add_edges_from((("observation", n), i) for i in observation)
    by_component = set()
    for component in nx.connected_components(together):
        rows = sorted(c[1] for c in component if isinstance(c, tuple))
        by_component |= _partition(policy, [sequence[n] for n in rows])

    assert by_component == _partition(policy, sequence)


@PROPERTY_SETTINGS
@given(policies, sequences)
def test_without_conflicts_persons_are_the_connected_components_of_the_observations(
    policy, sequence
):
    # With no limit to break, the rules reduce to union-find.
    if not all(_fits(policy, o) for o in _components(sequence)):
        return
    expected = {frozenset(c) for c in _components(sequence)}

    assert _partition(policy, sequence) == expected


def _partition(policy: Policy, sequence: Sequence[Sequence[Identifier]]) -> set[frozenset]:
    graph = InMemoryIdentityGraph(policy)
    for observation in sequence:
        graph.identify(observation)
    return graph.partition()


def _components(sequence: Sequence[Sequence[Identifier]]) -> list[set[Identifier]]:
    graph = nx.Graph()
    for observation in sequence:
        graph.add_nodes_from(observation)
        graph.add_edges_from(itertools.pairwise(observation))
    return list(nx.connected_components(graph))


def _fits(policy: Policy, identifiers: set[Identifier]) -> bool:
    counts = Counter(i.group for i in identifiers)
    return all(count <= policy.kinds[kind].limit for (kind, _), count in counts.items())


def _live(graph: InMemoryIdentityGraph) -> set[str]:
    return {graph.resolve(str(graph.owner(i))) for p in graph.partition() for i in p}


def test_the_property_strategies_do_produce_merges_and_demotions():
    """Guard against a strategy too sparse to exercise the rules."""
    rng = random.Random(7)
    outcomes: Counter[str] = Counter()
    for _ in range(30):
        graph = InMemoryIdentityGraph(tight_policy())
        for _ in range(12):
            observation = [Identifier(*rng.choice(GROUPS), rng.choice("abc")) for _ in range(3)]
            decision = graph.identify(observation)
            outcomes[decision.outcome] += 1
            outcomes["demoted"] += bool(decision.demoted)
    assert min(outcomes[k] for k in ("created", "matched", "merged", "demoted")) > 10
