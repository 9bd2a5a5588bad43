"""Repairs racing identify traffic on one store keep the graph's invariants."""

from __future__ import annotations

import random
import threading

from sqlalchemy import select

from identity.observation import Observation, RawIdentifier
from identity.services import repairs
from identity.services.identify import identify
from identity.store.models import IdentifierRow, Link, Person

OP = "key:op12345"


def anon(n: int) -> RawIdentifier:
    return RawIdentifier("anonymous_id", f"a{n}")


def check_invariants(store) -> None:
    with store.unit_of_work(readonly=True) as uow:
        s = uow.session
        persons = {p.id: p.merged_into for p in s.execute(select(Person.id, Person.merged_into))}
        owner = dict(s.execute(select(IdentifierRow.id, IdentifierRow.person_id)).all())
        links = s.execute(select(Link.source_id, Link.target_id)).all()
    assert all(persons.get(p, "missing") is None for p in owner.values())
    assert all(persons.get(alias) is None for alias in persons.values() if alias)
    assert all(owner[a] == owner[b] for a, b in links)


def test_splits_and_merges_racing_identify_keep_every_invariant(store, ws):
    login = RawIdentifier("login_id", "A", "app")
    person = identify(store, ws, Observation([login, *map(anon, range(8))]))["person_id"]
    errors: list[BaseException] = []

    def traffic(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(25):
                pick = [anon(rng.randrange(8)), anon(100 + seed * 100 + n)]
                if rng.random() < 0.3:
                    pick.append(login)
                identify(store, ws, Observation(pick))
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=traffic, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    split_off = []
    for n in range(4):
        split_off.append(repairs.split(store, ws, person, [anon(n)], OP)["new_person_id"])
    for thread in threads:
        thread.join()
    assert errors == []
    check_invariants(store)
    # The holds stood: nothing re-joined a split-off identifier with the login.
    owners = {identify(store, ws, Observation([anon(n)]))["person_id"] for n in range(4)}
    assert person not in owners
    repairs.merge(store, ws, [person, *split_off], force=True, trigger=OP)
    check_invariants(store)


def test_split_and_merge_cycles_racing_identify_keep_every_invariant(store, ws):
    login = RawIdentifier("login_id", "A", "app")
    person = identify(store, ws, Observation([login, *map(anon, range(6))]))["person_id"]
    errors: list[BaseException] = []

    def traffic(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(20):
                identify(store, ws, Observation([anon(rng.randrange(6)), anon(rng.randrange(6))]))
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=traffic, args=(seed,)) for seed in range(2)]
    for thread in threads:
        thread.start()
    for n in range(3):
        new = repairs.split(store, ws, person, [anon(n), anon(n + 3)], OP)["new_person_id"]
        merged = repairs.merge(store, ws, [new, person], force=False, trigger=OP)
        assert merged["person_id"] == person
    for thread in threads:
        thread.join()
    assert errors == []
    check_invariants(store)
    assert identify(store, ws, Observation([login, *map(anon, range(6))]))["outcome"] == "matched"
