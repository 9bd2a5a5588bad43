import csv
import io
import json

import pytest

PEOPLE = [
    # member, channel, last seen, tags, membership level
    ("A", "app", "2026-10-20T08:00:00Z", ["air_purifier"], "gold"),
    ("B", "app", "2026-09-01T08:00:00Z", ["air_purifier"], "gold"),
    ("C", "wechat_mp", "2026-10-20T08:00:00Z", ["air_purifier"], "silver"),
    ("D", "app", "2026-10-21T08:00:00Z", ["tea"], "gold"),
    ("E", "app", "2026-10-22T08:00:00Z", ["air_purifier", "tea"], "silver"),
]


@pytest.fixture
def people(client, auth):
    ids = {}
    for member, channel, at, tags, level in PEOPLE:
        body = {"identifiers": [{"kind": "member_id", "value": member}], "channel": channel,
                "timestamp": at, "tags": tags, "traits": {"membership_level": level,
                                                         "points": 10}}  # fmt: skip
        ids[member] = client.post("/v1/identify", json=body, headers=auth).get_json()["person_id"]
    # C is also seen in the App
    body = {"identifiers": [{"kind": "member_id", "value": "C"}], "channel": "app",
            "timestamp": "2026-10-25T08:00:00Z"}  # fmt: skip
    client.post("/v1/identify", json=body, headers=auth)
    return ids


def found(client, auth, query):
    response = client.get(f"/v1/persons?{query}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return {p["person_id"] for p in response.get_json()["persons"]}


def test_app_users_of_the_last_month_who_read_about_air_purifiers(client, auth, people):
    query = "tag=air_purifier&channel=app&seen_since=2026-10-01"
    assert found(client, auth, query) == {people["A"], people["C"], people["E"]}


def test_filters_combine_with_and(client, auth, people):
    query = "tag=air_purifier&trait.membership_level=gold&channel=app&seen_since=2026-10-01"
    assert found(client, auth, query) == {people["A"]}
    assert found(client, auth, "tag=air_purifier&tag=tea") == {people["E"]}
    assert found(client, auth, "trait.points=10&trait.membership_level=silver") == {
        people["C"], people["E"]}  # fmt: skip


def test_seen_since_alone_means_seen_in_any_channel(client, auth, people):
    since = "seen_since=2026-10-21T00:00:00%2B08:00"
    assert found(client, auth, since) == {people["D"], people["E"], people["C"]}


def test_no_filter_lists_every_live_person(client, auth, people):
    assert found(client, auth, "limit=100") == set(people.values())


def test_pages_follow_the_cursor_without_gaps_or_repeats(client, auth, people):
    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/persons?{query}", headers=auth).get_json()
        seen += [p["person_id"] for p in page["persons"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(people.values())
    assert pages == 3


def test_a_page_summarises_each_person(client, auth, people):
    page = client.get("/v1/persons?tag=tea&trait.membership_level=silver", headers=auth)
    (person,) = page.get_json()["persons"]
    assert person["person_id"] == people["E"]
    assert person["traits"] == {"membership_level": "silver", "points": 10}
    assert person["tags"] == ["air_purifier", "tea"]
    assert person["channels"] == ["app"]
    assert person["last_seen"].startswith("2026-10-22T08:00:00")


@pytest.mark.parametrize(
    "query",
    ["colour=red", "traits=x", "limit=0", "limit=5000", "seen_since=yesterday",
     "cursor=not-a-cursor", "trait.=gold"],
)  # fmt: skip
def test_bad_arguments_are_refused(client, auth, query):
    response = client.get(f"/v1/persons?{query}", headers=auth)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_export_streams_json_lines(client, auth, people):
    response = client.get("/v1/persons/export?tag=air_purifier&format=jsonl", headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "application/jsonl"
    rows = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert {r["person_id"] for r in rows} == {people[m] for m in "ABCE"}


def test_export_streams_csv_with_the_key_traits(client, auth, people):
    response = client.get("/v1/persons/export?channel=app&trait.points=10&format=csv", headers=auth)
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["person_id", "membership_level", "consumption_level", "points",
                             "tags", "channels", "last_seen"]  # fmt: skip
    by_id = {r["person_id"]: r for r in rows}
    assert set(by_id) == {people[m] for m in "ABCDE"}
    assert by_id[people["C"]]["channels"] == "app|wechat_mp"
    assert by_id[people["E"]]["tags"] == "air_purifier|tea"


def test_export_refuses_an_unknown_format(client, auth):
    assert client.get("/v1/persons/export?format=xml", headers=auth).status_code == 422


def test_search_needs_the_read_scope(client, make_key):
    assert client.get("/v1/persons", headers=make_key("ingest")).status_code == 403


def test_overlap_counts_persons_per_exact_combination(client, auth, people):
    response = client.get("/v1/insights/overlap?channels=app,wechat_mp,alipay_mp", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["per_channel"] == {"app": 5, "wechat_mp": 1, "alipay_mp": 0}
    assert body["persons"] == 5
    combos = {"+".join(c["channels"]): c["persons"] for c in body["combinations"]}
    assert combos["app"] == 4
    assert combos["app+wechat_mp"] == 1
    assert combos["wechat_mp"] == 0
    assert len(combos) == 7


@pytest.mark.parametrize("query", ["", "channels=", "channels=a,b,c,d,e,f,g,h,i", "x=1"])
def test_overlap_refuses_bad_channel_lists(client, auth, query):
    assert client.get(f"/v1/insights/overlap?{query}", headers=auth).status_code == 422
