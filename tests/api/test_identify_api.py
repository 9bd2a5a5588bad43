"""POST /v1/identify: every status code it can answer."""

from __future__ import annotations

import dataclasses
import json

import pytest

from api import create_app
from tests.api.helpers import assert_problem, ids

LOGIN_A, LOGIN_B, EMAIL = "login_id@app:A", "login_id@app:B", "email:e@example.com"


def identify(client, headers, *identifiers, **extra):  # type: ignore[no-untyped-def]
    return client.post("/v1/identify", json={"identifiers": ids(*identifiers), **extra},
                       headers=headers)  # fmt: skip


def test_identify_creates_matches_and_merges(client, ingest):
    first = identify(client, ingest, "wechat_openid@wxA:oA")
    second = identify(client, ingest, "wechat_openid@wxB:oB")
    again = identify(client, ingest, "wechat_openid@wxA:oA", "wechat_unionid@open:U")
    merged = identify(client, ingest, "wechat_unionid@open:U", "wechat_openid@wxB:oB")

    assert [r.status_code for r in (first, second, again, merged)] == [200] * 4
    assert first.content_type == "application/json"
    assert [r.get_json()["outcome"] for r in (first, second, again, merged)] == [
        "created", "created", "matched", "merged"]  # fmt: skip
    body = merged.get_json()
    assert body == {
        "person_id": first.get_json()["person_id"],
        "outcome": "merged",
        "merged_person_ids": [second.get_json()["person_id"]],
        "demoted": [],
        "ignored": [],
        "rejected": [],
    }


def test_identify_reports_demoted_ignored_and_rejected_identifiers(client, ingest):
    identify(client, ingest, LOGIN_A, EMAIL)
    body = identify(
        client, ingest, LOGIN_B, EMAIL, "idfa:00000000-0000-0000-0000-000000000000", "idfa:bad"
    ).get_json()

    assert body["outcome"] == "created"
    assert [(d["kind"], d["reason"][:20]) for d in body["demoted"]] == [
        ("email", "owned by a person th")]  # fmt: skip
    assert body["ignored"] == [
        {"index": 2, "kind": "idfa", "value": "00000000-0000-0000-0000-000000000000",
         "reason": "blocked value"}
    ]  # fmt: skip
    assert body["rejected"] == [{"index": 3, "kind": "idfa", "value": "bad",
                                 "reason": "not a UUID"}]  # fmt: skip


def test_a_repeated_message_id_answers_the_first_answer(client, ingest):
    first = identify(client, ingest, LOGIN_A, message_id="m-1", channel="app")
    again = identify(client, ingest, LOGIN_B, message_id="m-1", channel="web")

    assert again.status_code == 200
    assert again.get_json() == first.get_json()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwYXNz"},
     {"Authorization": "Bearer "}],
)  # fmt: skip
def test_identify_without_a_valid_key_is_401(client, auth, headers):
    response = identify(client, headers, LOGIN_A)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_identify_with_a_read_only_key_is_403(client, reader):
    assert_problem(identify(client, reader, LOGIN_A), 403)


def test_an_oversized_body_is_413(settings):
    app = create_app(dataclasses.replace(settings, max_body_bytes=512), TESTING=True)
    try:
        ws = app.extensions["databank"].workspaces
        ws.create("acme")
        headers = {"Authorization": f"Bearer {ws.create_key('acme', ['ingest'])}"}
        client = app.test_client()
        big = {"identifiers": ids(*(f"anonymous_id:{n:040d}" for n in range(20)))}

        assert_problem(client.post("/v1/identify", json=big, headers=headers), 413)
        assert identify(client, headers, LOGIN_A).status_code == 200
    finally:
        app.extensions["databank"].store.engine.dispose()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"identifiers": ids(LOGIN_A), "colour": "red"}, "colour"),
        ({"identifiers": [{"kind": "login_id", "scope": "app", "value": "A", "x": 1}]},
         "identifiers.0.x"),
        ({}, "identifiers"),
        ({"identifiers": []}, "identifiers"),
        ({"identifiers": ids(*(f"anonymous_id:a{n}" for n in range(51)))}, "identifiers"),
        ({"identifiers": [{"kind": "login_id"}]}, "identifiers.0.value"),
        ({"identifiers": ids(LOGIN_A), "timestamp": "yesterday"}, "timestamp"),
        ({"identifiers": ids(LOGIN_A), "tags": "tea"}, "tags"),
        ({"identifiers": ids(LOGIN_A), "traits": {"x": [1, 2]}}, "traits.x"),
        ({"identifiers": ids(LOGIN_A), "traits": {"x": float("inf")}}, None),
    ],
)  # fmt: skip
def test_an_invalid_body_is_422_naming_the_field(client, ingest, body, field):
    problem = assert_problem(client.post("/v1/identify", json=body, headers=ingest), 422)

    if field is not None:
        assert field in problem["errors"]


def test_an_observation_of_only_unusable_identifiers_is_422_naming_each_one(client, ingest):
    response = identify(
        client, ingest, "idfa:00000000-0000-0000-0000-000000000000", "anonymous_id:'null'",
        "idfa:not-a-uuid", "shoe_size:42", "login_id:no-scope", "member_id:NULL",
    )  # fmt: skip

    problem = assert_problem(response, 422)
    assert problem["title"] == "Observation refused"
    assert sorted(problem["errors"]) == [f"identifiers.{n}" for n in range(6)]
    assert problem["errors"]["identifiers.3"] == "shoe_size: unknown kind"


def test_a_body_that_is_not_json_is_a_problem_too(client, ingest):
    response = client.post("/v1/identify", data="{not json", headers=ingest,
                           content_type="application/json")  # fmt: skip

    assert_problem(response, 400)


def test_the_wrong_method_and_an_unknown_path_are_problems(client, ingest):
    assert_problem(client.get("/v1/identify", headers=ingest), 405)
    assert_problem(client.get("/v1/nothing-here", headers=ingest), 404)


def test_bodies_the_short_way_refuses_are_answered_as_webargs_answers_them(client, ingest):
    """``api.hot.fast_body`` takes only well-formed ``application/json`` bodies; any
    other body goes through webargs and marshmallow as before."""
    body = {"identifiers": ids(LOGIN_A), "channel": "app"}
    fast = client.post("/v1/identify", json=body, headers=ingest)
    other_json = client.post("/v1/identify", data=json.dumps(body), headers=ingest,
                             content_type="application/vnd.databank+json")  # fmt: skip
    not_json = client.post("/v1/identify", data=json.dumps(body), headers=ingest,
                           content_type="text/plain")  # fmt: skip
    not_utf8 = client.post("/v1/identify", data=b'{"identifiers": "\xff"}', headers=ingest,
                           content_type="application/json")  # fmt: skip

    assert fast.status_code == other_json.status_code == 200
    assert other_json.get_json() == {**fast.get_json(), "outcome": "matched"}
    assert "identifiers" in assert_problem(not_json, 422)["errors"]
    assert_problem(not_utf8, 400)
    assert_problem(client.post("/v1/identify", json=body, headers={}), 401)
