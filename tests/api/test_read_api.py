"""POST /v1/resolve and GET /v1/persons/{id}: every status code they can answer."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import assert_problem, ids


def identify(client, headers, *identifiers, **extra):  # type: ignore[no-untyped-def]
    body = {"identifiers": ids(*identifiers), **extra}
    response = client.post("/v1/identify", json=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def resolve(client, headers, *identifiers):  # type: ignore[no-untyped-def]
    return client.post("/v1/resolve", json={"identifiers": ids(*identifiers)}, headers=headers)


def test_resolve_finds_the_person_of_the_strongest_known_identifier(client, auth):
    person = identify(client, auth, "member_id:M", "anonymous_id:x")["person_id"]

    response = resolve(client, auth, "anonymous_id:x", "member_id:M", "login_id@app:unknown")

    assert response.status_code == 200
    assert response.get_json() == {"person_id": person,
                                   "matched": {"kind": "member_id", "value": "M"}}  # fmt: skip


def test_resolve_of_unknown_identifiers_is_404_and_creates_nothing(client, auth):
    problem = assert_problem(resolve(client, auth, "member_id:nobody"), 404)

    assert problem["title"] == "Identifier not found"
    assert_problem(resolve(client, auth, "member_id:nobody"), 404)


def test_resolve_of_another_workspaces_identifier_is_404(client, auth, stranger):
    identify(client, auth, "member_id:M")

    assert_problem(resolve(client, stranger, "member_id:M"), 404)


def test_resolve_of_invalid_identifiers_is_422_naming_them(client, auth):
    problem = assert_problem(resolve(client, auth, "member_id:M", "idfa:bad", "shoe:1"), 422)

    assert sorted(problem["errors"]) == ["identifiers.1", "identifiers.2"]


@pytest.mark.parametrize(
    "body",
    [{"identifiers": ids("member_id:M"), "create": True}, {}, {"identifiers": []},
     {"identifiers": [{"kind": "member_id", "value": "M", "extra": 1}]}],
)  # fmt: skip
def test_resolve_with_an_invalid_body_is_422(client, auth, body):
    assert_problem(client.post("/v1/resolve", json=body, headers=auth), 422)


def test_resolve_needs_a_valid_key_with_the_read_scope(client, ingest, reader):
    assert_problem(resolve(client, {}, "member_id:M"), 401)
    assert_problem(resolve(client, {"Authorization": "Bearer wrong"}, "member_id:M"), 401)
    assert_problem(resolve(client, ingest, "member_id:M"), 403)
    assert_problem(resolve(client, reader, "member_id:M"), 404)


def test_get_person_answers_the_profile(client, auth):
    person = identify(
        client, auth, "login_id@app:A", "phone:13800138000", channel="app",
        timestamp="2026-11-01T01:30:00Z", tags=["tea"], traits={"membership_level": "gold"},
    )["person_id"]  # fmt: skip

    response = client.get(f"/v1/persons/{person}", headers=auth)

    assert response.status_code == 200
    body = response.get_json()
    assert body["person_id"] == person and body["aliases"] == []
    assert [(i["kind"], i.get("scope")) for i in body["identifiers"]] == [
        ("login_id", "app"), ("phone", None)]  # fmt: skip
    assert body["traits"]["membership_level"] == {
        "value": "gold", "updated_at": "2026-11-01T01:30:00+00:00", "source": "app"}  # fmt: skip
    assert body["tags"]["tea"]["count"] == 1 and body["channels"]["app"]["count"] == 1
    assert body["activity"]["timezone"] == "Asia/Shanghai"
    assert body["activity"]["peak_hours"] == [9]


def test_an_absorbed_persons_id_answers_with_the_survivor(client, auth):
    older = identify(client, auth, "wechat_openid@wxA:oA")["person_id"]
    younger = identify(client, auth, "wechat_openid@wxB:oB")["person_id"]
    identify(client, auth, "wechat_unionid@open:U", "wechat_openid@wxA:oA")
    identify(client, auth, "wechat_unionid@open:U", "wechat_openid@wxB:oB")

    response = client.get(f"/v1/persons/{younger}", headers=auth)

    assert response.status_code == 200
    assert response.get_json()["person_id"] == older
    assert response.get_json()["aliases"] == [younger]


def test_an_unknown_person_is_404(client, auth):
    problem = assert_problem(client.get("/v1/persons/p_NOPE", headers=auth), 404)

    assert problem["title"] == "Person not found"


def test_a_person_of_another_workspace_is_404(client, auth, stranger):
    person = identify(client, auth, "member_id:M")["person_id"]

    assert_problem(client.get(f"/v1/persons/{person}", headers=stranger), 404)


def test_get_person_needs_a_valid_key_with_the_read_scope(client, auth, ingest):
    person = identify(client, auth, "member_id:M")["person_id"]

    assert_problem(client.get(f"/v1/persons/{person}"), 401)
    assert_problem(client.get(f"/v1/persons/{person}", headers={"Authorization": "x"}), 401)
    assert_problem(client.get(f"/v1/persons/{person}", headers=ingest), 403)


def test_resolve_answers_alike_the_short_way_and_webargs_way(client, auth):
    client.post("/v1/identify", json={"identifiers": ids("login_id@app:A")}, headers=auth)
    body = json.dumps({"identifiers": ids("login_id@app:A")})

    fast = client.post("/v1/resolve", data=body, headers=auth, content_type="application/json")
    slow = client.post("/v1/resolve", data=body, headers=auth,
                       content_type="application/vnd.databank+json")  # fmt: skip

    assert fast.status_code == slow.status_code == 200
    assert fast.get_data() == slow.get_data()
    assert fast.content_type == slow.content_type == "application/json"
