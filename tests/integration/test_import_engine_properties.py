"""The bulk import engine equals identifying the rows one by one (hypothesis), on SQLite
and PostgreSQL: same persons as identify and as the reference, same outcome counts, same
profiles, links, history, junk counts and answers; also over stored persons, holds left
by splits and suppressions left by erasures."""

from __future__ import annotations

import itertools
import os
import random
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from identity.errors import DatabankError, InvalidInput
from identity.imports.engine import apply_rows, row_by_row
from identity.imports.rows import ImportRow
from identity.policy import default_policy
from identity.services import erasure, repairs
from identity.services.identify import identify
from identity.services.persons import resolve
from identity.services.transactions import in_transaction
from identity.store.models import Message, table
from tests.integration.import_world import TRAITS, chunk_rows_observations, snapshot
from tests.invariants import assert_invariants
from tests.oracle import raw, reference_partition, tight_policy

TRIGGER = "import:t"
_names = itertools.count()


def new_workspace(workspaces, tight: bool):  # type: ignore[no-untyped-def]
    document = (tight_policy() if tight else default_policy()).as_document()
    document["traits"] = TRAITS
    workspace_id = workspaces.create(f"w{next(_names)}")
    workspaces.put_policy(workspace_id, document)
    return workspaces.context(workspace_id)


def prepare(store, ws, rng: random.Random, prefix, repairs_wanted: bool) -> list:  # type: ignore[no-untyped-def]
    """Stored state before the import: identified rows, then maybe a split and an erase
    (the same random choices in every workspace given the same ``rng`` state); returns
    the observations applied."""
    _, applied = identify_all(store, ws, prefix)
    if not repairs_wanted:
        return applied
    for text in rng.sample(
        [
            "anonymous_id:an1",
            "login_id@app1:A",
            "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DD",
            "member_id:M1",
        ],
        2,
    ):
        try:
            person = resolve(store, ws, [raw(text)])["person_id"]
            repairs.split(store, ws, person, [raw(text)], "key:op")
        except DatabankError:
            pass
    for text in rng.sample(
        ["anonymous_id:an2", "wechat_openid@wxA:o1", "email:bob@example.com"], 1
    ):
        try:
            person = resolve(store, ws, [raw(text)])["person_id"]
            erasure.erase(store, ws, person, "key:op")
        except DatabankError:
            pass
    return applied


def identify_all(store, ws, observations):  # type: ignore[no-untyped-def]
    """Identify one by one: the count of each outcome and the observations applied."""
    counts: Counter[str] = Counter()
    m = table(Message).c
    with store.engine.connect() as connection:
        answered = set(connection.execute(
            select(m.message_id).where(m.workspace_id == ws.id)).scalars())  # fmt: skip
    applied = []
    for observation in observations:
        mid = observation.message_id
        try:
            answer = identify(store, ws, observation, TRIGGER)
        except InvalidInput:
            # identify checks a row before its message id; an import counts a repeated
            # message id as a duplicate first
            counts["duplicate" if mid in answered else "rejected"] += 1
            continue
        if mid in answered:
            counts["duplicate"] += 1
            continue
        counts[answer["outcome"]] += 1
        applied.append(observation)
        if mid:
            answered.add(mid)
    return counts, applied


def import_all(store, ws, observations, cuts, engine) -> Counter[str]:  # type: ignore[no-untyped-def]
    rows = [ImportRow(n + 2, o) for n, o in enumerate(observations)]
    counts: Counter[str] = Counter()
    bounds = [0, *sorted(cuts), len(rows)]
    for start, end in itertools.pairwise(bounds):
        part = rows[start:end]
        outcome = in_transaction(store, lambda uow, part=part: engine(uow, ws, part, TRIGGER))
        assert outcome.counts["rejected"] == len(outcome.rejects)
        counts.update(outcome.counts)
    return +counts


@settings(
    max_examples=int(os.environ.get("IMPORT_EXAMPLES", "14")),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking takes minutes here
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32),
    stored=st.integers(0, 12),
    length=st.integers(1, 40),
    tight=st.booleans(),
    repaired=st.booleans(),
    cuts=st.lists(st.integers(0, 40), max_size=3),
)
def test_importing_in_chunks_equals_identifying_one_by_one(
    store, workspaces, seed, stored, length, tight, repaired, cuts
):
    rng = random.Random(seed)
    prefix = chunk_rows_observations(rng, stored, messages=True)
    rows = chunk_rows_observations(rng, length, messages=True)
    cuts = [c for c in cuts if c < length]
    bulk, single, slow = (new_workspace(workspaces, tight) for _ in range(3))
    for ws in (bulk, single, slow):
        before = prepare(store, ws, random.Random(seed), prefix, repaired)

    expected_counts, applied = identify_all(store, single, rows)
    got_counts = import_all(store, bulk, rows, cuts, apply_rows)
    slow_counts = import_all(store, slow, rows, cuts, row_by_row)

    assert got_counts == +expected_counts == slow_counts
    want = snapshot(store.engine, single.id)
    got = snapshot(store.engine, bulk.id)
    for key in want:
        assert got[key] == want[key], key
    assert snapshot(store.engine, slow.id) == want
    if not repaired:
        reference = reference_partition(before + applied, bulk.policy, bulk.hasher)[0]
        assert want["partition"] == reference
    assert_invariants(store.engine)
