import pytest

POLICY = {"traits": {"membership_level": {"merge": "latest"}, "first_store": {"merge": "first"},
                     "best_score": {"merge": "max"}, "points": {"merge": "sum"}}}  # fmt: skip


def observe(client, auth, value, at, **extra):
    body = {"identifiers": [{"kind": "member_id", "value": value}], "timestamp": at, **extra}
    response = client.post("/v1/identify", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["person_id"]


def test_first_max_and_sum_traits_follow_the_policy(client, auth):
    assert client.put("/v1/policy", json=POLICY, headers=auth).status_code == 200
    observe(client, auth, "M1", "2026-10-02T10:00:00Z", channel="app",
            traits={"first_store": "Shanghai", "best_score": 80, "points": 100})  # fmt: skip
    person = observe(client, auth, "M1", "2026-10-01T10:00:00Z", channel="crm",
                     traits={"first_store": "Beijing", "best_score": 95, "points": 50})  # fmt: skip
    observe(client, auth, "M1", "2026-10-03T10:00:00Z",
            traits={"best_score": 60, "points": 25, "membership_level": "gold"})  # fmt: skip
    traits = client.get(f"/v1/persons/{person}", headers=auth).get_json()["traits"]
    assert traits["first_store"]["value"] == "Beijing"
    assert traits["first_store"]["source"] == "crm"
    assert traits["best_score"]["value"] == 95
    assert traits["points"]["value"] == 175
    assert traits["membership_level"]["value"] == "gold"


def test_a_summed_trait_refuses_a_value_that_is_not_a_number(client, auth):
    client.put("/v1/policy", json=POLICY, headers=auth)
    body = {"identifiers": [{"kind": "member_id", "value": "M2"}], "traits": {"points": "ten"}}
    response = client.post("/v1/identify", json=body, headers=auth)
    assert response.status_code == 422
    assert "traits.points" in response.get_json()["errors"]


def test_numbers_and_booleans_come_back_with_their_types(client, auth):
    traits = {"points": 3, "ratio": 1.5, "vip": True, "level": "2"}
    person = observe(client, auth, "M3", "2026-10-01T00:00:00Z", traits=traits)
    shown = client.get(f"/v1/persons/{person}?include=traits", headers=auth).get_json()
    assert {k: v["value"] for k, v in shown["traits"].items()} == traits


def test_a_merge_keeps_the_traits_tags_and_channels_of_both_persons(client, auth):
    a = observe(client, auth, "M4", "2026-10-01T02:00:00Z", channel="app", tags=["tea"],
                traits={"membership_level": "silver"})  # fmt: skip
    b = client.post("/v1/identify", headers=auth, json={
        "identifiers": [{"kind": "anonymous_id", "value": "dev-4"}], "channel": "wechat_mp",
        "tags": ["air_purifier"], "timestamp": "2026-10-05T02:00:00Z",
        "traits": {"membership_level": "gold"}}).get_json()["person_id"]  # fmt: skip
    merged = client.post("/v1/identify", headers=auth, json={
        "identifiers": [{"kind": "member_id", "value": "M4"},
                        {"kind": "anonymous_id", "value": "dev-4"}],
        "timestamp": "2026-10-03T02:00:00Z"}).get_json()  # fmt: skip
    assert merged["outcome"] == "merged"
    profile = client.get(f"/v1/persons/{b}", headers=auth).get_json()
    assert profile["person_id"] == a
    assert profile["traits"]["membership_level"]["value"] == "gold"
    assert set(profile["tags"]) == {"tea", "air_purifier"}
    assert set(profile["channels"]) == {"app", "wechat_mp"}
    assert sum(profile["activity"]["hours"]) == 3
    assert profile["activity"]["peak_hours"] == [10]


def test_include_selects_the_parts_of_the_profile(client, auth):
    person = observe(client, auth, "M5", "2026-10-01T00:00:00Z", tags=["tea"])
    shown = client.get(f"/v1/persons/{person}?include=tags,activity", headers=auth).get_json()
    assert {"tags", "activity"} <= set(shown)
    assert not {"identifiers", "traits", "channels"} & set(shown)
    assert shown["person_id"] == person


@pytest.mark.parametrize("query", ["include=tags,bogus", "expand=tags"])
def test_an_unknown_part_or_argument_is_refused(client, auth, query):
    person = observe(client, auth, "M6", "2026-10-01T00:00:00Z")
    response = client.get(f"/v1/persons/{person}?{query}", headers=auth)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
