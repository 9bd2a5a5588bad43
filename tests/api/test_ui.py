"""The person page's routes over HTTP (the browser tests drive the page itself)."""

import json
from datetime import datetime
from xml.etree import ElementTree

LOGIN = {"kind": "login_id", "scope": "app", "value": "<b>alice</b>"}
IDFA = {"kind": "idfa", "value": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}


def test_the_page_and_its_assets_are_served_without_a_key(client):
    page = client.get("/ui/")
    assert page.status_code == 200 and b'id="lookup"' in page.data
    assert b"http" not in page.data.split(b"<body>")[0]  # nothing from a CDN
    with client.get("/ui/static/ui.js") as script:
        assert script.status_code == 200 and b"sessionStorage" in script.data


def test_the_graph_svg_is_well_formed_and_escapes_values(client, auth, make_key):
    body = {"identifiers": [LOGIN, IDFA], "message_id": 'm"1', "channel": "app"}
    person = client.post("/v1/identify", json=body, headers=auth).get_json()["person_id"]
    svg = client.get(f"/ui/persons/{person}/graph.svg", headers=make_key("read"))
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(svg.data)
    ns = "{http://www.w3.org/2000/svg}"
    nodes = root.findall(f".//{ns}g[@class='node']")
    assert {n.get("data-id") for n in nodes} == {"login_id@app:<b>alice</b>",
                                                 f"idfa:{IDFA['value'].upper()}"}  # fmt: skip
    assert b"<b>" not in svg.data
    edge = root.find(f".//{ns}line[@class='edge']")
    evidence = json.loads(edge.get("data-evidence"))
    assert evidence["first_message_id"] == 'm"1' and evidence["channels"] == ["app"]
    assert datetime.fromisoformat(evidence["first_seen"])
    assert 'm"1' in edge.find(f"{ns}title").text


def test_the_graph_svg_needs_a_read_key_a_known_person_and_a_sane_limit(client, auth, make_key):
    person = client.post("/v1/identify", json={"identifiers": [IDFA]}, headers=auth)
    url = f"/ui/persons/{person.get_json()['person_id']}/graph.svg"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=make_key("ingest")).status_code == 403
    assert client.get("/ui/persons/p_x/graph.svg", headers=auth).status_code == 404
    assert client.get(f"{url}?limit=1000", headers=auth).status_code == 422


def test_the_key_route_tells_the_page_the_scopes(client, make_key):
    assert client.get("/ui/key", headers=make_key("read")).get_json()["scopes"] == ["read"]
    assert client.get("/ui/key").status_code == 401
