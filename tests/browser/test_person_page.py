"""The person page in a real headless Chromium against a real server."""

from __future__ import annotations

import pytest

pytest.importorskip("selenium", reason="selenium is a dev extra")

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

LOGIN = {"kind": "login_id", "scope": "app", "value": "alice"}
IDFA = {"kind": "idfa", "value": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}
OPENID = {"kind": "wechat_openid", "scope": "wx1", "value": "o-alice"}


@pytest.fixture
def person(client, auth) -> str:
    first = {"identifiers": [LOGIN, IDFA], "message_id": "m-app-1", "channel": "app",
             "traits": {"membership_level": "gold"}}  # fmt: skip
    person_id = client.post("/v1/identify", json=first, headers=auth).get_json()["person_id"]
    second = {"identifiers": [IDFA, OPENID], "message_id": "m-mini-1", "channel": "mini"}
    client.post("/v1/identify", json=second, headers=auth)
    return str(person_id)


def open_person(browser, live_server, key: str) -> WebDriverWait:
    wait = WebDriverWait(browser, 15)
    browser.get(f"{live_server}/ui/")
    browser.find_element(By.ID, "api-key").send_keys(key)
    browser.find_element(By.ID, "kind").click()  # the key field's change event stores it
    browser.find_element(By.ID, "kind").send_keys("login_id")
    browser.find_element(By.ID, "scope").send_keys("app")
    browser.find_element(By.ID, "value").send_keys("alice")
    browser.find_element(By.CSS_SELECTOR, "#lookup button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#graph svg .node")))
    return wait


def test_the_page_draws_the_persons_graph_and_follows_an_explain_path(
    browser, live_server, auth, person
):
    key = auth["Authorization"].removeprefix("Bearer ")
    wait = open_person(browser, live_server, key)
    assert browser.find_element(By.ID, "person-id").text == person
    nodes = {n.get_attribute("data-id") for n in browser.find_elements(By.CSS_SELECTOR, ".node")}
    assert nodes == {"login_id@app:alice", f"idfa:{IDFA['value'].upper()}",
                     "wechat_openid@wx1:o-alice"}  # fmt: skip
    circles = browser.find_elements(By.CSS_SELECTOR, ".node circle")
    colours = {c.get_attribute("fill") for c in circles}
    assert len(colours) == 3  # one colour per kind
    edge_titles = [e.find_element(By.TAG_NAME, "title").get_attribute("textContent")
                   for e in browser.find_elements(By.CSS_SELECTOR, ".edge")]  # fmt: skip
    assert any("m-mini-1" in title for title in edge_titles)
    browser.find_element(By.CSS_SELECTOR, '.node[data-id="login_id@app:alice"] circle').click()
    browser.find_element(
        By.CSS_SELECTOR, '.node[data-id="wechat_openid@wx1:o-alice"] circle'
    ).click()
    steps = wait.until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#explain .step")))
    assert ["m-app-1" in steps[0].text, "m-mini-1" in steps[1].text] == [True, True]
    assert len(browser.find_elements(By.CSS_SELECTOR, ".edge.on-path")) == 2
    steps[1].click()
    assert "m-mini-1" in browser.find_element(By.ID, "evidence").text
    history = browser.find_element(By.ID, "history").text
    assert "create" in history and "attach" in history
    assert "gold" in browser.find_element(By.ID, "traits").text


def test_an_admin_splits_an_identifier_off_from_the_page(browser, live_server, auth, person):
    wait = open_person(browser, live_server, auth["Authorization"].removeprefix("Bearer "))
    wait.until(EC.visibility_of_element_located((By.ID, "split")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#identifiers tbody tr")
    target = next(r for r in rows if "o-alice" in r.text)
    target.find_element(By.CSS_SELECTOR, ".split-pick").click()
    browser.find_element(By.ID, "split").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "message"), "held apart"))
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".node")) == 2)
    assert "split" in browser.find_element(By.ID, "history").text


def test_a_read_key_sees_no_admin_actions_and_a_bad_key_sees_an_error(
    browser, live_server, make_key, person
):
    reader = make_key("read")["Authorization"].removeprefix("Bearer ")
    open_person(browser, live_server, reader)
    assert not browser.find_element(By.ID, "split").is_displayed()
    browser.get(f"{live_server}/ui/")
    browser.execute_script("sessionStorage.setItem('databank-key', 'dbk_wrong')")
    browser.find_element(By.ID, "person-id-input").send_keys(person)
    browser.find_element(By.CSS_SELECTOR, "#lookup button[type=submit]").click()
    WebDriverWait(browser, 10).until(
        EC.text_to_be_present_in_element((By.ID, "message"), "Unauthenticated")
    )


def test_an_admin_unbinds_an_identifier_from_the_page(browser, live_server, auth, person):
    wait = open_person(browser, live_server, auth["Authorization"].removeprefix("Bearer "))
    rows = browser.find_elements(By.CSS_SELECTOR, "#identifiers tbody tr")
    target = next(r for r in rows if "o-alice" in r.text)
    wait.until(EC.visibility_of(target.find_element(By.CSS_SELECTOR, ".unbind"))).click()
    wait.until(EC.alert_is_present()).accept()
    wait.until(EC.text_to_be_present_in_element((By.ID, "message"), "Unbound"))
    nodes = {n.get_attribute("data-id") for n in browser.find_elements(By.CSS_SELECTOR, ".node")}
    assert "wechat_openid@wx1:o-alice" not in nodes and len(nodes) == 2
    assert "unbind" in browser.find_element(By.ID, "history").text
