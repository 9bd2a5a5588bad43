"""GET and PUT /v1/policy: every status code they can answer."""

from __future__ import annotations

from identity.policy import default_policy
from tests.api.helpers import assert_problem, ids


def test_get_policy_answers_the_effective_policy(client, reader):
    response = client.get("/v1/policy", headers=reader)

    assert response.status_code == 200
    assert response.get_json() == default_policy().as_document()


def test_put_policy_replaces_it_and_identify_follows_it(client, admin, ingest, reader):
    document = default_policy().as_document()
    document["kinds"]["crm_id"] = {"limit": 1, "priority": 15, "scope": "none",
                                   "normalise": "trim", "personal": False}  # fmt: skip
    document["timezone"] = "Europe/London"

    response = client.put("/v1/policy", json=document, headers=admin)

    assert response.status_code == 200
    assert response.get_json()["kinds"]["crm_id"]["priority"] == 15
    assert client.get("/v1/policy", headers=reader).get_json()["timezone"] == "Europe/London"
    observed = client.post("/v1/identify", json={"identifiers": ids("crm_id: C1 ")},
                           headers=ingest)  # fmt: skip
    assert observed.get_json()["outcome"] == "created"


def test_an_invalid_policy_is_422_with_every_problem_listed(client, admin):
    document = {
        "kinds": {"crm_id": {"limit": 0, "priority": -5, "scope": "moon"}},
        "traits": {"points": {"merge": "avg"}},
        "timezone": "Mars/Base",
        "phone_region": "ZZ",
    }

    problem = assert_problem(client.put("/v1/policy", json=document, headers=admin), 422)

    assert problem["title"] == "Policy invalid"
    assert set(problem["errors"]) == {
        "kinds.crm_id.limit", "kinds.crm_id.priority", "kinds.crm_id.scope", "traits.points",
        "timezone", "phone_region"}  # fmt: skip
    assert problem["detail"] == "the policy has 6 problems"


def test_a_policy_with_unknown_or_mistyped_sections_is_422(client, admin):
    assert_problem(client.put("/v1/policy", json={"colour": "red"}, headers=admin), 422)
    assert_problem(client.put("/v1/policy", json={"kinds": []}, headers=admin), 422)


def test_the_policy_needs_a_valid_key_and_the_right_scope(client, ingest, reader):
    assert_problem(client.get("/v1/policy"), 401)
    assert_problem(client.put("/v1/policy", json={}), 401)
    assert_problem(client.get("/v1/policy", headers=ingest), 403)
    assert_problem(client.put("/v1/policy", json={}, headers=reader), 403)


def test_another_workspaces_policy_is_untouched(client, admin, stranger):
    client.put("/v1/policy", json={"timezone": "Europe/London"}, headers=admin)

    assert client.get("/v1/policy", headers=stranger).get_json()["timezone"] == "Asia/Shanghai"
