def test_identify_then_resolve_returns_the_same_person(client, auth):
    body = {"identifiers": [{"kind": "login_id", "scope": "app", "value": "A"}]}
    created = client.post("/v1/identify", json=body, headers=auth)
    assert created.status_code == 200
    resolved = client.post("/v1/resolve", json=body, headers=auth)
    assert resolved.get_json()["person_id"] == created.get_json()["person_id"]
