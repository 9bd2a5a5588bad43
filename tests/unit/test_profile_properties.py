"""Profile rules that must hold whatever the order: ties, defaults, and folding or
merging observations in any order gives the profile of all of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from identity.observation import Observation
from identity.policy import default_policy
from identity.profile import Profile, TraitValue, combine_trait
from tests.profile_strategies import POLICY, observations

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
anything = observations(st.just(["a"]))


def folded(items: list[Observation]) -> Profile:
    profile = Profile()
    for observation in items:
        profile.observe(observation, POLICY)
    return profile


def test_a_maximum_keeps_the_time_it_was_first_reached():
    combined = combine_trait("max", TraitValue(9, T1, "crm"), TraitValue(9, T0, "app"))
    assert (combined.updated_at, combined.source) == (T0, "app")


def test_equal_timestamps_are_broken_by_value_not_by_arrival():
    a, b = TraitValue("gold", T0, "app"), TraitValue("silver", T0, "app")
    assert combine_trait("latest", a, b) == combine_trait("latest", b, a)
    assert combine_trait("first", a, b) == combine_trait("first", b, a)


def test_levels_default_to_the_latest_value():
    policy = default_policy()
    assert policy.trait_merge("membership_level") == "latest"
    assert policy.trait_merge("consumption_level") == "latest"
    assert policy.trait_merge("anything_else") == "latest"


@given(st.lists(anything, max_size=12), st.randoms(use_true_random=False))
def test_a_profile_does_not_depend_on_the_order_of_its_observations(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert folded(shuffled) == folded(items)


@given(
    st.lists(st.tuples(anything, st.integers(0, 3)), max_size=14),
    st.randoms(use_true_random=False),
)
def test_merged_profiles_equal_one_profile_of_all_observations(assigned, rnd):
    """Observations land on up to four persons, which then merge in a random order."""
    groups: dict[int, list[Observation]] = {}
    for observation, group in assigned:
        groups.setdefault(group, []).append(observation)
    parts = [folded(items) for items in groups.values()]
    rnd.shuffle(parts)
    survivor = parts[0] if parts else Profile()
    for other in parts[1:]:
        survivor.absorb(other, POLICY)
    assert survivor == folded([observation for observation, _ in assigned])
