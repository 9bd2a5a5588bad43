"""POST /v1/identify/batch: in order, per-item errors, at most 1000, same as one by one."""

from __future__ import annotations

import random

import pytest

from tests.api.helpers import assert_problem, ids
from tests.invariants import assert_invariants, stored_partition
from tests.oracle import observation_document, random_observations


def batch(client, headers, observations):  # type: ignore[no-untyped-def]
    return client.post("/v1/identify/batch", json={"observations": observations},
                       headers=headers)  # fmt: skip


def test_a_batch_answers_each_item_in_order_with_its_own_errors(client, ingest):
    items = [
        {"identifiers": ids("login_id@app:A")},
        {"identifiers": ids("login_id@app:A"), "colour": "red"},
        {"identifiers": ids("anonymous_id:null")},
        {"identifiers": ids("login_id@app:A"), "traits": {"x": {"nested": 1}}},
        {"identifiers": ids("login_id@app:A", "member_id:M")},
        {"identifiers": ids("login_id@app:B", "idfa:bad")},
    ]

    response = batch(client, ingest, items)

    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == 6
    assert [r.get("outcome") for r in results] == [
        "created", None, None, None, "matched", "created"]  # fmt: skip
    assert "colour" in results[1]["error"]["errors"]
    assert results[2]["error"]["title"] == "Observation refused"
    assert "traits.x" in results[3]["error"]["errors"]
    assert results[4]["person_id"] == results[0]["person_id"]
    assert results[5]["rejected"][0]["reason"] == "not a UUID"


def test_a_batch_whose_items_are_not_objects_is_422(client, ingest):
    problem = assert_problem(batch(client, ingest, [{"identifiers": []}, "text"]), 422)

    assert "observations.1" in problem["errors"]


def test_a_batch_of_1000_observations_is_accepted(client, ingest):
    # Mostly invalid items, which cost no transaction: the point is the size limit.
    items = [{"identifiers": ids(f"anonymous_id:a{n}"), "x": n} for n in range(990)]
    items += [{"identifiers": ids(f"anonymous_id:a{n % 5}")} for n in range(10)]

    response = batch(client, ingest, items)

    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == 1000
    assert all("x" in r["error"]["errors"] for r in results[:990])
    assert [r["outcome"] for r in results[990:]] == ["created"] * 5 + ["matched"] * 5


@pytest.mark.parametrize("size", [0, 1001])
def test_a_batch_of_more_than_1000_or_of_nothing_is_422(client, ingest, size):
    items = [{"identifiers": ids(f"anonymous_id:a{n}")} for n in range(size)]

    problem = assert_problem(batch(client, ingest, items), 422)

    assert "observations" in problem["errors"]
    assert assert_problem(
        client.post("/v1/resolve", json={"identifiers": ids("anonymous_id:a0")}, headers=ingest),
        403,
    )


def test_a_batch_with_unknown_fields_or_without_a_key_or_scope_is_refused(client, ingest, reader):
    items = [{"identifiers": ids("member_id:M")}]

    assert_problem(client.post("/v1/identify/batch", json={"observations": items, "x": 1},
                               headers=ingest), 422)  # fmt: skip
    assert_problem(batch(client, {}, items), 401)
    assert_problem(batch(client, reader, items), 403)


@pytest.mark.parametrize("seed", [11, 12])
def test_one_by_one_and_batch_give_the_same_persons(app, client, make_key, seed):
    one, together = make_key("ingest", workspace="one"), make_key("ingest", workspace="batch")
    documents = [observation_document(o) for o in random_observations(random.Random(seed), 40)]

    singles = [client.post("/v1/identify", json=d, headers=one) for d in documents]
    results = batch(client, together, documents).get_json()["results"]

    for single, item in zip(singles, results, strict=True):
        if single.status_code == 422:
            assert item["error"]["title"] == "Observation refused"
        else:
            expected = single.get_json()
            assert item["outcome"] == expected["outcome"]
            assert item["demoted"] == expected["demoted"]
    workspaces = app.extensions["databank"].workspaces
    engine = app.extensions["databank"].store.engine
    a, b = (workspaces.context_by_name(name).id for name in ("one", "batch"))
    assert stored_partition(engine, a) == stored_partition(engine, b)
    assert_invariants(engine)
