"""Random mixes of identify and repairs keep the graph's invariants (hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from identity.errors import DatabankError
from identity.observation import Observation, RawIdentifier
from identity.services import erasure, repairs
from identity.services.identify import identify
from identity.services.persons import resolve
from identity.store.models import Hold, IdentifierRow, Link, Person

OP = "key:prop0000"
_names = itertools.count()

POOL = [RawIdentifier("login_id", v, "app") for v in "AB"] + [
    RawIdentifier("anonymous_id", f"a{n}") for n in range(4)
] + [RawIdentifier("member_id", m) for m in ("m1", "m2")]  # fmt: skip

observations = st.lists(st.sampled_from(POOL), min_size=1, max_size=3)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("identify"), observations),
        st.tuples(st.just("identify"), observations),
        st.tuples(st.just("split"), st.sampled_from(POOL)),
        st.tuples(st.just("merge"), st.tuples(st.sampled_from(POOL), st.sampled_from(POOL))),
        st.tuples(st.just("unbind"), st.sampled_from(POOL)),
        st.tuples(st.just("erase"), st.sampled_from(POOL)),
    ),
    min_size=1,
    max_size=12,
)


def owner(store, ws, identifier):
    try:
        return resolve(store, ws, [identifier])["person_id"]
    except DatabankError:  # not known (any more)
        return None


def apply(store, ws, step) -> None:
    action, arg = step
    try:
        if action == "identify":
            identify(store, ws, Observation(arg))
        elif action == "split":
            person = owner(store, ws, arg)
            if person:
                repairs.split(store, ws, person, [arg], OP)
        elif action == "merge":
            people = [owner(store, ws, i) for i in arg]
            if all(people):
                repairs.merge(store, ws, people, force=True, trigger=OP)
        elif action == "unbind":
            repairs.unbind(store, ws, arg, OP)
        else:
            person = owner(store, ws, arg)
            if person:
                erasure.erase(store, ws, person, OP)
    except DatabankError:
        pass  # a refused repair (last identifier, whole person) is a fine outcome


def check_invariants(store, workspace_id: int) -> None:
    with store.unit_of_work(readonly=True) as uow:
        s = uow.session
        persons = dict(
            s.execute(
                select(Person.id, Person.merged_into).where(Person.workspace_id == workspace_id)
            ).all()
        )
        owners = dict(
            s.execute(
                select(IdentifierRow.id, IdentifierRow.person_id).where(
                    IdentifierRow.workspace_id == workspace_id
                )
            ).all()
        )
        links = s.execute(
            select(Link.source_id, Link.target_id).where(Link.workspace_id == workspace_id)
        ).all()
        holds = s.execute(
            select(Hold.person_a, Hold.person_b).where(Hold.workspace_id == workspace_id)
        ).all()
    assert all(persons.get(p, "missing") is None for p in owners.values())
    assert all(persons.get(alias) is None for alias in persons.values() if alias)
    assert all(owners[a] == owners[b] for a, b in links)
    assert all(persons[a] is None and persons[b] is None and a != b for a, b in holds)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=steps)
def test_any_mix_of_identify_and_repairs_keeps_the_invariants(store, workspaces, script):
    ws = workspaces.context(workspaces.create(f"prop{next(_names)}"))
    for step in script:
        apply(store, ws, step)
        check_invariants(store, ws.id)
