def seed(client, auth):
    for member, channels in (("A", ["app", "wechat_mp"]), ("B", ["app"]), ("C", ["alipay_mp"])):
        for channel in channels:
            body = {"identifiers": [{"kind": "member_id", "value": member}], "channel": channel}
            client.post("/v1/identify", json=body, headers=auth)


def key_of(auth):
    return auth["Authorization"].removeprefix("Bearer ")


def test_the_overlap_page_asks_for_a_key_without_putting_it_in_the_url(client):
    page = client.get("/ui/overlap")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'method="post"' in html and 'type="password"' in html
    assert "<svg" not in html


def test_the_overlap_page_draws_a_bar_per_combination(client, auth):
    seed(client, auth)
    form = {"key": key_of(auth), "channels": "app,wechat_mp,alipay_mp"}
    page = client.post("/ui/overlap", data=form)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="bar"') == 3
    assert "app + wechat_mp: 1 persons" in html
    assert "<strong>3</strong> persons" in html
    assert "cdn" not in html.lower() and "<script" not in html


def test_a_wrong_key_is_refused_on_the_page(client):
    page = client.post("/ui/overlap", data={"key": "nope", "channels": "app"})
    assert page.status_code == 401
    assert "<svg" not in page.get_data(as_text=True)


def test_too_many_channels_are_explained_on_the_page(client, auth):
    form = {"key": key_of(auth), "channels": ",".join(f"c{i}" for i in range(9))}
    page = client.post("/ui/overlap", data=form)
    assert page.status_code == 422
    assert 'role="alert"' in page.get_data(as_text=True)
