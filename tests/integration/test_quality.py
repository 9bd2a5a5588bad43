"""The quality report over real stores."""

from identity.observation import Observation, RawIdentifier
from identity.services.identify import identify
from identity.services.quality import quality


def anon(value: str) -> RawIdentifier:
    return RawIdentifier("anonymous_id", value)


def login(value: str) -> RawIdentifier:
    return RawIdentifier("login_id", value, "app")


def test_quality_reports_sizes_junk_and_persons_hanging_on_a_device(store, ws):
    device = anon("shared-device")
    identify(store, ws, Observation([login("A"), anon("a1")]))
    identify(store, ws, Observation([anon("a1"), device]))
    identify(store, ws, Observation([device, anon("b1")]))
    identify(store, ws, Observation([anon("b1"), anon("b2")]))
    identify(store, ws, Observation([login("B"), anon("a1")]))  # a1 is demoted
    zero = RawIdentifier("idfa", "00000000-0000-0000-0000-000000000000")
    identify(store, ws, Observation([login("C"), zero]))
    report = quality(store, ws)
    assert report["persons"] == 3 and report["identifiers"] == 7
    assert report["size_distribution"][:3] == [
        {"size": "1", "persons": 2}, {"size": "2", "persons": 0}, {"size": "3-5", "persons": 1}
    ]  # fmt: skip
    assert report["largest"][0]["identifiers"] == 5
    assert report["demotions_by_kind"] == {"anonymous_id": 1}
    assert report["blocked_by_kind"] == {"idfa": 1}
    junk = {(j["kind"], j["value"], j["reason"]) for j in report["junk_candidates"]}
    assert junk == {("anonymous_id", "a1", "demoted"), ("idfa", zero.value, "blocked")}
    hanging = report["bridges"]["persons"]
    assert [h["identifiers"] for h in hanging] == [5]
    assert [i["value"] for i in hanging[0]["bridge_identifiers"]] == ["shared-device"]


def test_quality_of_an_empty_workspace_is_all_zeros(store, ws):
    report = quality(store, ws)
    assert report["persons"] == 0 and report["largest"] == []
    assert report["bridges"] == {"scanned": 0, "persons": []}
