"""The operator's repairs on real SQLite and PostgreSQL stores."""

from __future__ import annotations

import pytest

from identity.errors import (
    AliasErasure,
    Conflict,
    IdentifierNotFound,
    InvalidInput,
    LimitsBroken,
    PersonNotFound,
)
from identity.observation import Observation, RawIdentifier
from identity.services import erasure, graph_ops, repairs
from identity.services.identify import identify
from identity.services.persons import get_person
from identity.services.quality import quality

OP = "key:op12345"


def ident(kind: str, value: str, scope: str | None = None) -> RawIdentifier:
    return RawIdentifier(kind, value, scope)


LOGIN_A = ident("login_id", "A", "app")
LOGIN_B = ident("login_id", "B", "app")
IDFA = ident("idfa", "6d92078a-8246-4ba4-ae5b-76104861e7dc")
PHONE = ident("phone", "13800138000")
OPENID = ident("wechat_openid", "o-1", "wx1")


def see(store, ws, *identifiers, **kwargs):
    return identify(store, ws, Observation(list(identifiers), **kwargs))


def test_the_graph_shows_identifiers_and_links_with_their_evidence(store, ws):
    person = see(store, ws, LOGIN_A, IDFA, PHONE, channel="app", message_id="m1")["person_id"]
    graph = graph_ops.person_graph(store, ws, person)
    assert len(graph["nodes"]) == 3 and not graph["truncated"]
    phone = next(n for n in graph["nodes"] if n["kind"] == "phone")
    assert "13800138000" not in phone["value"]  # keyed hash only
    edge = graph["edges"][0]
    assert edge["source"] == "login_id@app:A"
    assert edge["channels"] == ["app"] and edge["first_message_id"] == "m1"


def test_a_capped_graph_says_it_is_truncated(store, ws):
    person = see(store, ws, LOGIN_A, IDFA, PHONE)["person_id"]
    graph = graph_ops.person_graph(store, ws, person, limit=2)
    assert graph["truncated"] and graph["total_nodes"] == 3
    assert next(n["id"] for n in graph["nodes"]) == "login_id@app:A"
    assert len(graph["edges"]) == 1


def test_explain_gives_the_chain_through_a_shared_identifier(store, ws):
    person = see(store, ws, LOGIN_A, IDFA, message_id="m1")["person_id"]
    see(store, ws, IDFA, OPENID, message_id="m2", channel="mini")
    chain = graph_ops.explain(store, ws, person, LOGIN_A, OPENID)
    assert [link["first_message_id"] for link in chain["links"]] == ["m1", "m2"]
    assert chain["to"] == {"kind": "wechat_openid", "scope": "wx1", "value": "o-1"}


def test_explain_refuses_identifiers_outside_the_person(store, ws):
    person = see(store, ws, LOGIN_A, IDFA)["person_id"]
    see(store, ws, LOGIN_B)
    with pytest.raises(IdentifierNotFound) as caught:
        graph_ops.explain(store, ws, person, LOGIN_A, LOGIN_B)
    assert caught.value.errors == {"to": "not an identifier of this person"}
    with pytest.raises(InvalidInput):
        graph_ops.explain(store, ws, person, LOGIN_A, ident("phone", "12"))
    with pytest.raises(PersonNotFound):
        graph_ops.explain(store, ws, "p_nobody", LOGIN_A, IDFA)


def test_a_split_moves_identifiers_cuts_links_and_holds_the_persons_apart(store, ws):
    person = see(store, ws, LOGIN_A, IDFA, traits={"membership_level": "gold"})["person_id"]
    see(store, ws, IDFA, OPENID)
    result = repairs.split(store, ws, person, [OPENID], OP, "shared tablet")
    new = result["new_person_id"]
    assert result["links_cut"] == 1
    assert see(store, ws, OPENID)["person_id"] == new
    assert get_person(store, ws, new)["traits"] == {}
    assert get_person(store, ws, person)["traits"]["membership_level"]["value"] == "gold"
    again = see(store, ws, IDFA, OPENID)
    # The weaker idfa (80) gives way to the openid (60): the two persons stay apart.
    assert again["person_id"] == new and again["demoted"][0]["kind"] == "idfa"
    assert again["demoted"][0]["reason"] == "owned by a person held apart from the others"
    actions = [(h["action"], h["trigger"]) for h in graph_ops.history(store, ws, new)["items"]]
    assert actions == [("demote", "api"), ("split", OP)]


def test_a_split_refuses_what_is_not_the_persons_and_taking_everything(store, ws):
    person = see(store, ws, LOGIN_A, IDFA)["person_id"]
    with pytest.raises(InvalidInput) as caught:
        repairs.split(store, ws, person, [OPENID], OP)
    assert caught.value.errors == {"identifiers.0": "not an identifier of this person"}
    with pytest.raises(InvalidInput):
        repairs.split(store, ws, person, [LOGIN_A, IDFA], OP)
    with pytest.raises(PersonNotFound):
        repairs.split(store, ws, "p_nobody", [IDFA], OP)


def test_a_merge_lifts_the_hold_and_joins_into_the_oldest(store, ws):
    person = see(store, ws, LOGIN_A, IDFA)["person_id"]
    new = repairs.split(store, ws, person, [IDFA], OP)["new_person_id"]
    merged = repairs.merge(store, ws, [new, person], force=False, trigger=OP)
    assert merged == {"person_id": person, "merged_person_ids": [new], "broken_limits": {}}
    assert get_person(store, ws, new)["person_id"] == person
    chain = graph_ops.explain(store, ws, person, LOGIN_A, IDFA)
    assert chain["links"][0]["first_message_id"] == f"operator:{OP}"
    second = repairs.split(store, ws, person, [IDFA], OP)["new_person_id"]
    repairs.merge(store, ws, [person, second], force=False, trigger=OP)
    assert see(store, ws, LOGIN_A, IDFA)["outcome"] == "matched"


def test_a_merge_that_breaks_limits_is_refused_unless_forced(store, ws):
    first = see(store, ws, LOGIN_A, traits={"points": 1})["person_id"]
    second = see(store, ws, LOGIN_B, IDFA)["person_id"]
    with pytest.raises(LimitsBroken) as caught:
        repairs.merge(store, ws, [first, second], force=False, trigger=OP)
    assert caught.value.errors == {"login_id@app": "2 values, the limit is 1"}
    forced = repairs.merge(store, ws, [second, first], force=True, trigger=OP)
    assert forced["person_id"] == first and forced["broken_limits"]
    profile = get_person(store, ws, first)
    assert len(profile["identifiers"]) == 3 and profile["aliases"] == [second]
    assert see(store, ws, LOGIN_A, IDFA)["outcome"] == "matched"


def test_merging_one_person_with_itself_changes_nothing(store, ws):
    person = see(store, ws, LOGIN_A)["person_id"]
    assert repairs.merge(store, ws, [person, person], force=False, trigger=OP) == {
        "person_id": person,
        "merged_person_ids": [],
        "broken_limits": {},
    }
    with pytest.raises(PersonNotFound):
        repairs.merge(store, ws, [person, "p_nobody"], force=False, trigger=OP)


def test_unbind_removes_one_identifier_and_its_links(store, ws):
    person = see(store, ws, LOGIN_A, IDFA, OPENID)["person_id"]
    result = repairs.unbind(store, ws, IDFA, OP)
    assert result["person_id"] == person and result["links_removed"] == 1
    graph = graph_ops.person_graph(store, ws, person)
    assert {n["kind"] for n in graph["nodes"]} == {"login_id", "wechat_openid"}
    assert see(store, ws, IDFA)["outcome"] == "created"
    with pytest.raises(IdentifierNotFound):
        repairs.unbind(store, ws, ident("idfa", "6d92078a-8246-4ba4-ae5b-000000000001"), OP)


def test_unbinding_the_last_identifier_is_refused(store, ws):
    see(store, ws, LOGIN_A)
    with pytest.raises(Conflict):
        repairs.unbind(store, ws, LOGIN_A, OP)


def test_erasure_deletes_the_person_and_suppresses_its_identifiers(store, ws):
    person = see(store, ws, LOGIN_A, PHONE, channel="app", tags=["tea"], message_id="m1",
                 traits={"membership_level": "gold"})["person_id"]  # fmt: skip
    dry = erasure.erase(store, ws, person, OP, dry_run=True)
    assert dry["identifiers"] == 2 and dry["traits"] == 1 and dry["messages"] == 1
    assert get_person(store, ws, person)["person_id"] == person
    done = erasure.erase(store, ws, person, OP)
    assert {**done, "dry_run": True} == dry
    with pytest.raises(PersonNotFound):
        get_person(store, ws, person)
    again = see(store, ws, PHONE, IDFA, message_id="m1")
    assert [(n["kind"], n["reason"]) for n in again["ignored"]] == [("phone", "suppressed")]
    assert "value" not in again["ignored"][0]
    entries = graph_ops.history(store, ws, person)["items"]
    assert [(e["action"], e["details"]) for e in entries] == [("erase", None)]


def test_erasure_forgets_the_junk_counts_of_the_persons_values(store, ws):
    person = see(store, ws, LOGIN_A, IDFA)["person_id"]
    see(store, ws, LOGIN_B, IDFA)  # the idfa is demoted: a junk candidate
    assert quality(store, ws)["demotions_by_kind"] == {"idfa": 1}
    erasure.erase(store, ws, person, OP)
    assert quality(store, ws)["junk_candidates"] == []


def test_erasing_through_an_alias_needs_to_be_asked_for(store, ws):
    first = see(store, ws, LOGIN_A)["person_id"]
    second = see(store, ws, IDFA)["person_id"]
    see(store, ws, LOGIN_A, IDFA)
    with pytest.raises(AliasErasure):
        erasure.erase(store, ws, second, OP)
    report = erasure.erase(store, ws, second, OP, follow_alias=True)
    assert report["person_id"] == first and report["aliases"] == [second]
    for gone in (first, second):
        with pytest.raises(PersonNotFound):
            get_person(store, ws, gone)


def test_history_pages_newest_first_over_the_person_and_its_aliases(store, ws):
    first = see(store, ws, LOGIN_A)["person_id"]
    see(store, ws, IDFA)
    see(store, ws, LOGIN_A, IDFA, OPENID)
    page = graph_ops.history(store, ws, first, limit=2)
    rest = graph_ops.history(store, ws, first, limit=10, cursor=int(page["next_cursor"]))
    ids = [e["id"] for e in page["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and rest["next_cursor"] is None
    assert {e["action"] for e in page["items"] + rest["items"]} == {"create", "attach", "merge"}
    with pytest.raises(PersonNotFound):
        graph_ops.history(store, ws, "p_nobody")
