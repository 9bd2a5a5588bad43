"""Every status code of the operator's endpoints, over HTTP."""

from __future__ import annotations

import pytest

LOGIN_A = {"kind": "login_id", "scope": "app", "value": "A"}
LOGIN_B = {"kind": "login_id", "scope": "app", "value": "B"}
IDFA = {"kind": "idfa", "value": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}
OPENID = {"kind": "wechat_openid", "scope": "wx1", "value": "o-1"}


@pytest.fixture
def reader(make_key):
    return make_key("read")


@pytest.fixture
def see(client, auth):
    def see(*identifiers, **extra):
        body = {"identifiers": list(identifiers), **extra}
        response = client.post("/v1/identify", json=body, headers=auth)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["person_id"]

    return see


def problem(response, status):
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_the_graph_answers_nodes_and_edges(client, reader, see):
    person = see(LOGIN_A, IDFA, channel="app")
    body = client.get(f"/v1/persons/{person}/graph", headers=reader).get_json()
    assert {n["id"] for n in body["nodes"]} == {"login_id@app:A", f"idfa:{IDFA['value'].upper()}"}
    assert body["edges"][0]["channels"] == ["app"] and body["truncated"] is False
    capped = client.get(f"/v1/persons/{person}/graph?limit=1", headers=reader).get_json()
    assert capped["truncated"] is True and capped["edges"] == []


def test_the_graph_refuses_bad_keys_unknown_persons_and_bad_limits(client, make_key, reader, see):
    person = see(LOGIN_A)
    problem(client.get(f"/v1/persons/{person}/graph"), 401)
    problem(client.get(f"/v1/persons/{person}/graph", headers=make_key("ingest")), 403)
    problem(client.get("/v1/persons/p_nobody/graph", headers=reader), 404)
    problem(client.get(f"/v1/persons/{person}/graph?limit=0", headers=reader), 422)
    problem(client.get(f"/v1/persons/{person}/graph?depth=2", headers=reader), 422)


def test_explain_answers_the_chain_and_refuses_what_it_cannot_explain(client, reader, see):
    person = see(LOGIN_A, IDFA, message_id="m1")
    see(IDFA, OPENID, message_id="m2")
    see(LOGIN_B)
    url = f"/v1/persons/{person}/explain"
    ok = client.post(url, json={"from": LOGIN_A, "to": OPENID}, headers=reader)
    assert [link["first_message_id"] for link in ok.get_json()["links"]] == ["m1", "m2"]
    assert ok.get_json()["from"] == LOGIN_A
    outside = problem(client.post(url, json={"from": LOGIN_A, "to": LOGIN_B}, headers=reader), 404)
    assert outside["errors"] == {"to": "not an identifier of this person"}
    bad = {"from": LOGIN_A, "to": {"kind": "phone", "value": "12"}}
    assert "to" in problem(client.post(url, json=bad, headers=reader), 422)["errors"]
    problem(client.post(url, json={"from": LOGIN_A}, headers=reader), 422)
    problem(client.post(url, json={"from": LOGIN_A, "to": IDFA, "via": 1}, headers=reader), 422)
    problem(client.post("/v1/persons/p_x/explain", json={"from": LOGIN_A, "to": IDFA},
                        headers=reader), 404)  # fmt: skip


def test_explain_without_a_chain_is_unprocessable(client, auth, reader, see):
    person = see(LOGIN_A, IDFA, OPENID)  # links run from the login to each of the others
    client.post("/v1/identifiers/unbind", json={"identifier": LOGIN_A}, headers=auth)
    url = f"/v1/persons/{person}/explain"
    body = problem(client.post(url, json={"from": IDFA, "to": OPENID}, headers=reader), 422)
    assert body["detail"] == "no chain of links joins the two identifiers"


def test_split_merge_unbind_answer_and_need_the_admin_scope(client, auth, reader, see):
    person = see(LOGIN_A, IDFA, OPENID)
    split = client.post(f"/v1/persons/{person}/split", json={"identifiers": [OPENID]},
                        headers=auth)  # fmt: skip
    assert split.status_code == 200
    new = split.get_json()["new_person_id"]
    assert split.get_json()["links_cut"] == 1
    merged = client.post("/v1/persons/merge", json={"person_ids": [new, person]}, headers=auth)
    assert merged.get_json() == {"person_id": person, "merged_person_ids": [new],
                                 "broken_limits": {}}  # fmt: skip
    unbind = client.post("/v1/identifiers/unbind", json={"identifier": IDFA, "reason": "junk"},
                         headers=auth)  # fmt: skip
    assert unbind.status_code == 200 and unbind.get_json()["person_id"] == person
    problem(client.post(f"/v1/persons/{person}/split", json={"identifiers": [LOGIN_A]},
                        headers=reader), 403)  # fmt: skip
    problem(client.post("/v1/persons/merge", json={"person_ids": [person, new]},
                        headers=reader), 403)  # fmt: skip
    problem(client.post("/v1/identifiers/unbind", json={"identifier": LOGIN_A},
                        headers=reader), 403)  # fmt: skip
    problem(client.post("/v1/identifiers/unbind", json={"identifier": LOGIN_A}), 401)


def test_split_refuses_unknown_persons_and_foreign_or_all_identifiers(client, auth, see):
    person = see(LOGIN_A, IDFA)
    url = f"/v1/persons/{person}/split"
    problem(client.post("/v1/persons/p_x/split", json={"identifiers": [IDFA]}, headers=auth), 404)
    foreign = problem(client.post(url, json={"identifiers": [OPENID]}, headers=auth), 422)
    assert foreign["errors"] == {"identifiers.0": "not an identifier of this person"}
    problem(client.post(url, json={"identifiers": [LOGIN_A, IDFA]}, headers=auth), 422)
    problem(client.post(url, json={"identifiers": []}, headers=auth), 422)


def test_merge_names_the_broken_limits_unless_forced(client, auth, see):
    first, second = see(LOGIN_A), see(LOGIN_B)
    refused = problem(client.post("/v1/persons/merge", json={"person_ids": [first, second]},
                                  headers=auth), 409)  # fmt: skip
    assert refused["errors"] == {"login_id@app": "2 values, the limit is 1"}
    forced = client.post("/v1/persons/merge", json={"person_ids": [first, second], "force": True},
                         headers=auth)  # fmt: skip
    assert forced.status_code == 200 and forced.get_json()["broken_limits"]
    problem(client.post("/v1/persons/merge", json={"person_ids": [first, "p_x"]},
                        headers=auth), 404)  # fmt: skip
    problem(client.post("/v1/persons/merge", json={"person_ids": [first]}, headers=auth), 422)


def test_unbind_refuses_unknown_invalid_and_last_identifiers(client, auth, see):
    see(LOGIN_A)
    problem(client.post("/v1/identifiers/unbind", json={"identifier": IDFA}, headers=auth), 404)
    problem(client.post("/v1/identifiers/unbind", json={"identifier": LOGIN_A}, headers=auth), 409)
    bad = {"identifier": {"kind": "phone", "value": "12"}}
    problem(client.post("/v1/identifiers/unbind", json=bad, headers=auth), 422)


def test_erase_reports_on_a_dry_run_then_erases_and_suppresses(client, auth, reader, see):
    phone = {"kind": "phone", "value": "13800138000"}
    person = see(LOGIN_A, phone, traits={"membership_level": "gold"})
    dry = client.delete(f"/v1/persons/{person}?dry_run=true", headers=auth)
    assert dry.status_code == 200 and dry.get_json()["identifiers"] == 2
    assert client.get(f"/v1/persons/{person}", headers=reader).status_code == 200
    done = client.delete(f"/v1/persons/{person}?reason=GDPR%20request", headers=auth)
    assert done.get_json()["dry_run"] is False
    problem(client.get(f"/v1/persons/{person}", headers=reader), 404)
    again = client.post("/v1/identify", json={"identifiers": [phone, IDFA]}, headers=auth)
    assert again.get_json()["ignored"] == [{"index": 0, "kind": "phone", "reason": "suppressed"}]
    alone = client.post("/v1/identify", json={"identifiers": [phone]}, headers=auth)
    assert problem(alone, 422)["errors"] == {"identifiers.0": "phone: suppressed"}
    history = client.get(f"/v1/persons/{person}/history", headers=reader).get_json()
    assert [(e["action"], e["reason"]) for e in history["items"]] == [("erase", "GDPR request")]
    problem(client.delete(f"/v1/persons/{person}", headers=auth), 404)


def test_erase_refuses_aliases_read_keys_and_unknown_options(client, auth, reader, see):
    first, second = see(LOGIN_A), see(IDFA)
    see(LOGIN_A, IDFA)
    alias = problem(client.delete(f"/v1/persons/{second}", headers=auth), 409)
    assert alias["errors"] == {"person_id": first}
    problem(client.delete(f"/v1/persons/{first}", headers=reader), 403)
    problem(client.delete(f"/v1/persons/{first}?cascade=1", headers=auth), 422)
    followed = client.delete(f"/v1/persons/{second}?follow_alias=true", headers=auth)
    assert followed.get_json()["person_id"] == first


def test_history_pages_with_a_cursor(client, auth, reader, see):
    person = see(LOGIN_A)
    see(LOGIN_A, IDFA)
    client.post(f"/v1/persons/{person}/split", json={"identifiers": [IDFA]}, headers=auth)
    url = f"/v1/persons/{person}/history"
    first = client.get(f"{url}?limit=2", headers=reader).get_json()
    assert [e["action"] for e in first["items"]] == ["split", "attach"]
    assert first["items"][0]["trigger"].startswith("key:")
    rest = client.get(f"{url}?limit=2&cursor={first['next_cursor']}", headers=reader).get_json()
    assert [e["action"] for e in rest["items"]] == ["create"] and rest["next_cursor"] is None
    problem(client.get(f"{url}?cursor=abc", headers=reader), 422)
    problem(client.get("/v1/persons/p_nobody/history", headers=reader), 404)
    problem(client.get(url), 401)


def test_quality_answers_the_report_and_refuses_bad_options(client, make_key, reader, see):
    see(LOGIN_A, IDFA)
    body = client.get("/v1/insights/quality?top=5", headers=reader).get_json()
    assert body["persons"] == 1 and body["largest"][0]["identifiers"] == 2
    assert set(body) >= {"size_distribution", "junk_candidates", "demotions_by_kind", "bridges"}
    problem(client.get("/v1/insights/quality?top=0", headers=reader), 422)
    problem(client.get("/v1/insights/quality?channels=a", headers=reader), 422)
    problem(client.get("/v1/insights/quality", headers=make_key("ingest")), 403)
    problem(client.get("/v1/insights/quality"), 401)
