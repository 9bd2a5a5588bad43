"""The database-backed service gives the persons of the reference, on SQLite and
PostgreSQL, for random observation sequences: same outcomes, same demotions, same
partition of identifiers into persons, and every invariant of the store holds."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.errors import ObservationRefused
from identity.identifiers import Identifier
from identity.services.identify import identify, identify_many
from tests.invariants import assert_invariants, stored_partition
from tests.oracle import random_observations, reference_partition, tight_policy

_names = itertools.count()


def new_workspace(workspaces, tight: bool):  # type: ignore[no-untyped-def]
    workspace_id = workspaces.create(f"w{next(_names)}")
    if tight:
        workspaces.put_policy(workspace_id, tight_policy().as_document())
    return workspaces.context(workspace_id)


def demoted_of(result: dict) -> set[Identifier]:  # type: ignore[type-arg]
    return {Identifier(d["kind"], d.get("scope", ""), d["value"]) for d in result["demoted"]}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), length=st.integers(1, 14), tight=st.booleans())
def test_identify_makes_the_persons_the_reference_makes(store, workspaces, seed, length, tight):
    ws = new_workspace(workspaces, tight)
    observations = random_observations(random.Random(seed), length)
    expected, decisions = reference_partition(observations, ws.policy, ws.hasher)
    person_of: dict[str, str] = {}  # reference id -> stored id

    for observation, decision in zip(observations, decisions, strict=True):
        if decision is None:
            with pytest.raises(ObservationRefused):
                identify(store, ws, observation)
            continue
        result = identify(store, ws, observation)
        assert result["outcome"] == decision.outcome
        assert demoted_of(result) == set(decision.demoted)
        person_of.setdefault(str(decision.survivor), result["person_id"])
        assert result["person_id"] == person_of[str(decision.survivor)]
        assert set(result["merged_person_ids"]) == {person_of[a] for a in decision.absorbed}

    assert stored_partition(store.engine, ws.id) == expected
    assert_invariants(store.engine)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_gives_the_persons_of_one_by_one(store, workspaces, seed):
    observations = random_observations(random.Random(seed), 25)
    one, batch = new_workspace(workspaces, True), new_workspace(workspaces, True)

    singles = []
    for observation in observations:
        try:
            singles.append(identify(store, one, observation))
        except ObservationRefused:
            singles.append(None)
    together = identify_many(store, batch, observations)

    assert stored_partition(store.engine, one.id) == stored_partition(store.engine, batch.id)
    for single, item in zip(singles, together, strict=True):
        if single is None:
            assert item["error"]["title"] == "Observation refused"
        else:
            assert (item["outcome"], demoted_of(item)) == (single["outcome"], demoted_of(single))
    assert_invariants(store.engine)
