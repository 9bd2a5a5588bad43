"""Merges lose nothing, on the real stores: after any sequence of observations, each live
person's profile equals the profile folded from all the observations of its component."""

import itertools
from datetime import UTC, datetime

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.observation import Observation, RawIdentifier
from identity.profile import Profile
from identity.services.identify import identify
from identity.services.persons import get_person, resolve
from tests.profile_strategies import POLICY, TRAIT_POLICY, observations

# anonymous_id allows ten values per person, so six values never demote: every
# observation joins its identifiers and the persons are the connected components.
VALUES = [f"anon-{i}" for i in range(6)]
identifier_sets = st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True)
_names = itertools.count()


def expected_document(items: list[Observation]) -> dict:
    profile = Profile()
    for observation in items:
        profile.observe(observation, POLICY)
    seen = lambda table: {  # noqa: E731
        k: {"count": s.count, "first_seen": s.first_seen, "last_seen": s.last_seen}
        for k, s in table.items()
    }
    return {
        "traits": {k: {"value": t.value, "updated_at": t.updated_at, "source": t.source}
                   for k, t in profile.traits.items()},
        "tags": seen(profile.tags),
        "channels": seen(profile.channels),
        "hours": profile.activity,
    }  # fmt: skip


def components(items: list[Observation]) -> list[list[Observation]]:
    graph = nx.Graph()
    for index, observation in enumerate(items):
        graph.add_node(("obs", index))
        for identifier in observation.identifiers:
            graph.add_edge(("obs", index), identifier.value)
    return [
        [items[i] for kind, i in sorted(n for n in part if isinstance(n, tuple))]
        for part in nx.connected_components(graph)
    ]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(observations(identifier_sets), min_size=1, max_size=10))
def test_every_survivor_has_the_profile_of_all_its_observations(store, workspaces, items):
    ws_id = workspaces.create(f"merges-{next(_names)}")
    workspaces.put_policy(ws_id, {"traits": TRAIT_POLICY})
    ws = workspaces.context(ws_id)
    for observation in items:
        identify(store, ws, observation)
    survivors = set()
    for part in components(items):
        one = part[0].identifiers[0]
        person_id = resolve(store, ws, [one])["person_id"]
        survivors.add(person_id)
        document = get_person(store, ws, person_id)
        expected = expected_document(part)
        assert document["traits"] == expected["traits"]
        assert document["tags"] == expected["tags"]
        assert document["channels"] == expected["channels"]
        assert document["activity"]["hours"] == expected["hours"]
    assert len(survivors) == len(components(items))


def test_typed_trait_values_survive_the_round_trip(store, ws):
    traits = {"points": 1200, "ratio": 0.25, "vip": True, "churned": False,
              "membership_level": "gold", "nickname": None, "zero": 0}  # fmt: skip
    at = datetime(2026, 10, 1, tzinfo=UTC)
    observation = Observation([RawIdentifier("anonymous_id", "typed")], at, traits=traits)
    person_id = identify(store, ws, observation)["person_id"]
    stored = get_person(store, ws, person_id, ["traits"])["traits"]
    values = {name: trait["value"] for name, trait in stored.items()}
    assert values == traits
    assert [type(values[n]) for n in traits] == [type(v) for v in traits.values()]
