"""The identify, resolve and get_person services on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from identity.errors import IdentifierNotFound, InvalidInput, PersonNotFound
from identity.identifiers import Identifier
from identity.services.identify import identify
from identity.services.persons import get_person, resolve
from identity.store.graph import GraphRepository
from identity.store.models import Base, History, Link, Message, Person
from tests.invariants import assert_invariants, stored_partition
from tests.oracle import T0, as_raw, observation

PHONE, EMAIL = "13800138000", "Ann.Lee@Example.com"
DEVICE = "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DC"


def count(store, model) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_later_unionid_merges_two_mini_programs_and_the_younger_id_is_an_alias(store, ws):
    older = identify(store, ws, observation(["wechat_openid@wxA:oA"], 0, "mini-a"))
    younger = identify(store, ws, observation(["wechat_openid@wxB:oB"], 1, "mini-b"))
    identify(store, ws, observation(["wechat_unionid@open1:U", "wechat_openid@wxA:oA"], 2))
    merged = identify(store, ws, observation(["wechat_unionid@open1:U", "wechat_openid@wxB:oB"], 3))

    assert merged["outcome"] == "merged"
    assert merged["person_id"] == older["person_id"]
    assert merged["merged_person_ids"] == [younger["person_id"]]
    via_alias = get_person(store, ws, younger["person_id"])
    assert via_alias["person_id"] == older["person_id"]
    assert via_alias["aliases"] == [younger["person_id"]]
    assert {i["value"] for i in via_alias["identifiers"]} == {"oA", "oB", "U"}
    assert set(via_alias["channels"]) == {"mini-a", "mini-b"}
    assert_invariants(store.engine)


def test_an_alias_of_an_absorbed_person_points_straight_at_the_final_survivor(store, ws):
    a = identify(store, ws, observation(["anonymous_id:a"], 0))["person_id"]
    b = identify(store, ws, observation(["anonymous_id:b"], 1))["person_id"]
    c = identify(store, ws, observation(["anonymous_id:c"], 2))["person_id"]
    identify(store, ws, observation(["anonymous_id:b", "anonymous_id:c"], 3))
    identify(store, ws, observation(["anonymous_id:a", "anonymous_id:b"], 4))

    assert get_person(store, ws, c)["person_id"] == a
    assert sorted(get_person(store, ws, a)["aliases"]) == sorted([b, c])
    assert_invariants(store.engine)


def test_segments_example_on_the_store(store, ws):
    first = identify(store, ws, observation(["login_id@app:A", f"email:{EMAIL}"]))
    second = identify(store, ws, observation(["login_id@app:B", f"email:{EMAIL}"], 1))

    assert second["outcome"] == "created" and second["person_id"] != first["person_id"]
    assert [d["kind"] for d in second["demoted"]] == ["email"]
    found = resolve(store, ws, as_raw([f"email:{EMAIL}"]))
    assert found["person_id"] == first["person_id"]


def test_a_repeated_message_id_returns_the_first_answer_and_changes_nothing(store, ws):
    first = identify(store, ws, observation(["login_id@app:A"], 0, "app", message_id="m-1"))
    rows = {model: count(store, model) for model in Base.metadata.sorted_tables}
    person = get_person(store, ws, first["person_id"])

    again = identify(store, ws, observation(["login_id@app:A"], 5, "app", message_id="m-1"))
    different = identify(
        store, ws, observation(["login_id@app:Z", "idfa:bad"], 6, "web", message_id="m-1")
    )

    assert again == different == first
    assert {model: count(store, model) for model in rows} == rows
    assert get_person(store, ws, first["person_id"]) == person
    assert count(store, Message) == 1


def test_a_message_id_is_per_workspace(store, workspaces, ws):
    other = workspaces.context(workspaces.create("other"))
    mine = identify(store, ws, observation(["member_id:M"], message_id="m-1"))
    theirs = identify(store, other, observation(["member_id:M"], message_id="m-1"))

    assert mine["person_id"] != theirs["person_id"]
    assert theirs["outcome"] == "created"


def test_a_merge_keeps_every_trait_tag_channel_and_hour_of_both_profiles(store, ws):
    silver = {"membership_level": "silver", "city": "SH"}
    a = identify(store, ws, observation(["member_id:M1"], 0, "app", tags=["tea"], traits=silver))
    gold = {"membership_level": "gold", "age": 30}
    b = identify(store, ws, observation([DEVICE], 3, "mini", tags=["tea", "cake"], traits=gold))
    merged = identify(store, ws, observation(["member_id:M1", DEVICE], 1, "crm"))

    assert (merged["outcome"], merged["merged_person_ids"]) == ("merged", [b["person_id"]])
    person = get_person(store, ws, a["person_id"])
    traits = {name: (t["value"], t["source"]) for name, t in person["traits"].items()}
    assert traits == {
        "membership_level": ("gold", "mini"),
        "city": ("SH", "app"),
        "age": (30, "mini"),
    }
    assert {k: v["count"] for k, v in person["tags"].items()} == {"tea": 2, "cake": 1}
    assert person["tags"]["tea"]["first_seen"] == T0
    assert person["tags"]["tea"]["last_seen"] == T0 + timedelta(hours=3)
    channels = {k: v["count"] for k, v in person["channels"].items()}
    assert channels == {"app": 1, "mini": 1, "crm": 1}
    hours = person["activity"]["hours"]
    assert sum(hours) == 3 and hours[9] == hours[10] == hours[12] == 1  # Asia/Shanghai
    assert_invariants(store.engine)


def test_resolve_answers_with_the_strongest_known_identifier_and_never_creates(store, ws):
    person = identify(store, ws, observation(["member_id:M", "anonymous_id:x"]))["person_id"]
    identify(store, ws, observation(["login_id@app:L"]))
    persons = count(store, Person)

    found = resolve(store, ws, as_raw(["anonymous_id:x", "member_id:M", "anonymous_id:new"]))

    assert found == {"person_id": person, "matched": {"kind": "member_id", "value": "M"}}
    with pytest.raises(IdentifierNotFound):
        resolve(store, ws, as_raw(["anonymous_id:new", "anonymous_id:null"]))
    with pytest.raises(InvalidInput) as invalid:
        resolve(store, ws, as_raw(["idfa:not-a-uuid", "member_id:M"]))
    assert list(invalid.value.errors) == ["identifiers.0"]
    assert count(store, Person) == persons


def test_a_person_of_another_workspace_is_not_found(store, workspaces, ws):
    other = workspaces.context(workspaces.create("other"))
    person = identify(store, ws, observation(["member_id:M"]))["person_id"]

    with pytest.raises(PersonNotFound):
        get_person(store, other, person)
    with pytest.raises(IdentifierNotFound):
        resolve(store, other, as_raw(["member_id:M"]))
    with pytest.raises(PersonNotFound):
        get_person(store, ws, "p_unknown")


def test_persons_held_apart_in_the_store_are_not_rejoined(store, ws):
    member = identify(store, ws, observation(["member_id:M1"]))["person_id"]
    device = identify(store, ws, observation(["oaid:dev-1"]))["person_id"]
    with store.unit_of_work() as uow:
        GraphRepository(uow.session, ws.id, uow.sqlite).hold_apart(member, device, T0)
        uow.commit()

    result = identify(store, ws, observation(["member_id:M1", "oaid:dev-1"], 1))

    assert (result["outcome"], result["person_id"]) == ("matched", member)
    assert [(d["kind"], d["value"]) for d in result["demoted"]] == [("oaid", "dev-1")]
    assert "held apart" in result["demoted"][0]["reason"]
    assert resolve(store, ws, as_raw(["oaid:dev-1"]))["person_id"] == device


def test_links_and_history_record_the_evidence(store, ws):
    first = observation(["login_id@app:A", "member_id:M", "oaid:d"], 0, "app", message_id="m-9")
    result = identify(store, ws, first)
    identify(store, ws, observation(["login_id@app:A", "oaid:d"], 2, "mini"))

    with store.engine.connect() as connection:
        links = connection.execute(
            select(Link.count, Link.channels, Link.first_message_id).order_by(Link.id)
        ).all()
        actions = connection.execute(
            select(History.action, History.trigger).where(History.person_id == result["person_id"])
        ).all()
    assert sorted(map(tuple, links)) == [(1, ["app"], "m-9"), (2, ["app", "mini"], "m-9")]
    assert [tuple(a) for a in actions] == [("create", "message:m-9")]


def test_raw_phone_numbers_and_emails_never_reach_the_database(store, ws):
    pii = [f"phone:{PHONE}", f"email:{EMAIL}"]
    identify(store, ws, observation([*pii, "login_id@app:A"], message_id="m-pii"))
    identify(store, ws, observation([*pii, "login_id@app:B"], 1))

    with store.engine.connect() as connection:
        dumped = " ".join(
            str(row)
            for model in Base.metadata.sorted_tables
            for row in connection.execute(text(f"SELECT * FROM {model.name}"))
        )
    for raw_value in (PHONE, "+8613800138000", EMAIL, EMAIL.lower(), "Ann.Lee"):
        assert raw_value not in dumped
    phone = Identifier("phone", "", ws.hasher.hash("+8613800138000"))
    email = Identifier("email", "", ws.hasher.hash(EMAIL.lower()))
    assert stored_partition(store.engine, ws.id) == {
        frozenset({phone, email, Identifier("login_id", "app", "A")}),
        frozenset({Identifier("login_id", "app", "B")}),
    }


def test_connections_the_server_dropped_are_replaced_without_an_error(store, ws):
    """Pooled connections are not pinged: one found dead is replaced and the call retried."""
    first = identify(store, ws, observation(["member_id:M1"], 0))
    if not store.sqlite:
        import psycopg

        url = store.engine.url.set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(url, autocommit=True) as admin:  # outside the pool
            ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()").fetchone()  # fmt: skip
        assert ended is not None and ended[0] >= 1

    assert resolve(store, ws, as_raw(["member_id:M1"]))["person_id"] == first["person_id"]
    assert identify(store, ws, observation(["member_id:M1"], 1))["outcome"] == "matched"
    assert get_person(store, ws, first["person_id"])["person_id"] == first["person_id"]
