"""The resolution rules of SPEC section 3 on the reference graph: issue 2's scenarios,
one test each, and the finer points of demotion and merging."""

from __future__ import annotations

import pytest

from identity.identifiers import Identifier
from identity.policy import Policy, default_policy
from identity.reference import InMemoryIdentityGraph
from identity.resolution import decide, strength_key
from tests.oracle import ReferenceWorld

LOGIN_A, LOGIN_B = "login_id@app:A", "login_id@app:B"
EMAIL = "email:e@example.com"
DEVICE = "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DC"


@pytest.fixture
def world() -> ReferenceWorld:
    return ReferenceWorld()


# -- the scenarios of issue 2 -------------------------------------------------------------
def test_segments_priority_example_makes_a_second_person_and_demotes_the_email(world):
    first = world.identify(LOGIN_A, EMAIL)
    second = world.identify(LOGIN_B, EMAIL)

    assert second.outcome == "created"
    assert second.survivor != first.survivor
    assert second.demoted == [world.accept(EMAIL)]
    assert world.person_of(EMAIL) == first.survivor
    assert world.identifiers_of(second.survivor) == {world.accept(LOGIN_B)}


def test_a_device_shared_by_two_logins_stays_with_the_first_person(world):
    first = world.identify(LOGIN_A, DEVICE)
    second = world.identify(LOGIN_B, DEVICE)

    assert second.outcome == "created"
    assert second.demoted == [world.accept(DEVICE)]
    assert world.person_of(DEVICE) == first.survivor
    assert world.person_of(LOGIN_B) == second.survivor != first.survivor


def test_a_shared_device_does_not_glue_strangers_together_later(world):
    world.identify(LOGIN_A, DEVICE)
    world.identify(LOGIN_B, DEVICE)
    third = world.identify("login_id@app:C", DEVICE, "anonymous_id:x1")

    assert third.outcome == "created"
    assert world.person_of("anonymous_id:x1") == third.survivor
    assert len(world.graph.partition()) == 3


BLOCKED = [
    ("idfa", "00000000-0000-0000-0000-000000000000"),
    ("idfv", "00000000-0000-0000-0000-000000000000"),
    ("android_id", "9774d56d682e549c"),
    ("android_id", "9774D56D682E549C"),
    ("oaid", "0000"),
    ("anonymous_id", "null"),
    ("anonymous_id", "NULL"),
    ("anonymous_id", "'null'"),
    ("anonymous_id", '"NULL"'),
    ("anonymous_id", "unknown"),
    ("anonymous_id", "Undefined"),
    ("anonymous_id", ""),
    ("anonymous_id", "   "),
    ("anonymous_id", "-1"),
    ("anonymous_id", "[object Object]"),
    ("anonymous_id", "NaN"),
    ("anonymous_id", "guest"),
    ("member_id", "none"),
    ("email", "null"),
    ("phone", "0"),
]


@pytest.mark.parametrize(("kind", "value"), BLOCKED)
def test_a_blocked_value_is_ignored_and_never_links_anything(world, kind, value):
    junk = f"{kind}:{value}"
    first = world.identify(LOGIN_A, junk)
    second = world.identify(LOGIN_B, junk)

    assert [n.reason for n in world.screen(junk).ignored] == ["blocked value"]
    assert first.outcome == second.outcome == "created"
    assert first.demoted == second.demoted == []
    assert world.graph.partition() == {
        frozenset({world.accept(LOGIN_A)}),
        frozenset({world.accept(LOGIN_B)}),
    }


def test_the_same_openid_under_two_app_ids_is_two_identifiers(world):
    a = world.identify("wechat_openid@wxA:o1")
    b = world.identify("wechat_openid@wxB:o1")

    assert world.accept("wechat_openid@wxA:o1") != world.accept("wechat_openid@wxB:o1")
    assert (a.outcome, b.outcome) == ("created", "created")
    assert a.survivor != b.survivor


def test_a_later_unionid_merges_the_openids_of_two_mini_programs_into_the_older_person(world):
    older = world.identify("wechat_openid@wxA:oA", "anonymous_id:a1")
    younger = world.identify("wechat_openid@wxB:oB")
    world.identify("wechat_unionid@open1:U", "wechat_openid@wxA:oA")
    joined = world.identify("wechat_unionid@open1:U", "wechat_openid@wxB:oB")

    assert joined.outcome == "merged"
    assert joined.survivor == older.survivor
    assert joined.absorbed == [younger.survivor]
    assert world.graph.resolve(younger.survivor) == older.survivor
    assert world.identifiers_of(younger.survivor) == {
        world.accept(i)
        for i in ("wechat_openid@wxA:oA", "wechat_openid@wxB:oB", "wechat_unionid@open1:U",
                  "anonymous_id:a1")
    }  # fmt: skip


def test_one_observation_with_the_unionid_and_both_openids_merges_them_too(world):
    older = world.identify("wechat_openid@wxA:oA")
    world.identify("wechat_openid@wxB:oB")
    joined = world.identify(
        "wechat_unionid@open1:U", "wechat_openid@wxA:oA", "wechat_openid@wxB:oB"
    )

    assert (joined.outcome, joined.survivor, joined.demoted) == ("merged", older.survivor, [])


def test_two_spellings_of_one_mobile_number_are_the_same_phone(world):
    plain, spaced = world.accept("phone:13800138000"), world.accept("phone:+86 138 0013 8000")

    assert plain == spaced == Identifier("phone", "", world.hasher.hash("+8613800138000"))
    assert "13800138000" not in plain.value


def test_two_logins_never_merge_through_one_phone(world):
    first = world.identify(LOGIN_A, "phone:13800138000")
    second = world.identify(LOGIN_B, "phone:+86 138 0013 8000")

    assert second.outcome == "created"
    assert second.demoted == [world.accept("phone:13800138000")]
    assert world.person_of("phone:+86 138 0013 8000") == first.survivor


def test_an_observation_of_only_unusable_identifiers_is_refused_naming_each_one(world):
    from identity.errors import ObservationRefused

    with pytest.raises(ObservationRefused) as refused:
        world.identify(
            "idfa:00000000-0000-0000-0000-000000000000",  # blocked
            "idfa:not-a-uuid",  # invalid
            "shoe_size:42",  # unknown kind
            "email:no-at-sign.example.com",  # invalid, personal
            "login_id:A",  # app-scoped without a scope
        )

    errors = refused.value.errors
    assert sorted(errors) == [f"identifiers.{n}" for n in range(5)]
    assert errors["identifiers.0"] == "idfa: blocked value"
    assert errors["identifiers.1"] == "idfa: not a UUID"
    assert errors["identifiers.2"] == "shoe_size: unknown kind"
    assert errors["identifiers.3"].startswith("email: ")
    assert "scope" in errors["identifiers.4"]
    assert "no-at-sign" not in str(errors)
    assert world.graph.partition() == set()


# -- demotion: involved only, weakest first ---------------------------------------------
def test_only_involved_identifiers_are_demoted_and_a_new_device_still_attaches(world):
    first = world.identify(LOGIN_A)
    world.identify(LOGIN_B)
    joined = world.identify(LOGIN_A, LOGIN_B, DEVICE)

    assert joined.outcome == "matched"
    assert joined.survivor == first.survivor
    assert joined.demoted == [world.accept(LOGIN_B)]  # B sorts after A
    assert world.person_of(DEVICE) == first.survivor


def test_the_weakest_involved_identifier_goes_first(world):
    world.identify("member_id:M1", DEVICE)
    second = world.identify("member_id:M2")
    decision = world.identify("member_id:M2", DEVICE)

    assert decision.demoted == [world.accept(DEVICE)]
    assert (decision.outcome, decision.survivor) == ("matched", second.survivor)


def test_demotion_ties_break_by_kind_name_then_value(world):
    idfa, oaid = DEVICE, "oaid:fe80-aa"
    first = world.identify("member_id:M1", idfa).survivor
    world.identify("member_id:M2", oaid)
    decision = world.identify(oaid, idfa)  # both priority 80: oaid sorts after idfa

    assert decision.demoted == [world.accept(oaid)]
    assert (decision.outcome, decision.survivor) == ("matched", first)
    key = strength_key(default_policy())
    values = sorted([Identifier("idfa", "", "B"), Identifier("idfa", "", "A")], key=key)
    assert [i.value for i in values] == ["A", "B"]


def test_a_group_over_its_limit_demotes_its_new_values_highest_first(world):
    first = world.identify(LOGIN_A, "email:a@x.cn", "email:b@x.cn", "email:c@x.cn")
    decision = world.identify(LOGIN_A, "email:d@x.cn", "email:e@x.cn")

    assert decision.outcome == "matched"
    demoted = sorted([world.accept("email:d@x.cn"), world.accept("email:e@x.cn")],
                     key=lambda i: i.value, reverse=True)  # fmt: skip
    assert decision.demoted == demoted
    assert len(world.identifiers_of(first.survivor)) == 4


def test_unowned_identifiers_whose_group_is_within_its_limit_are_never_demoted(world):
    world.identify(LOGIN_A)
    world.identify(LOGIN_B)
    decision = world.identify(LOGIN_A, LOGIN_B, "member_id:M", "email:n@x.cn")

    assert decision.demoted == [world.accept(LOGIN_B)]
    assert {world.accept("member_id:M"), world.accept("email:n@x.cn")} <= set(decision.identifiers)


def test_a_person_already_over_a_lowered_limit_is_not_punished_for_it():
    world = ReferenceWorld()
    devices = [f"idfa:6D92078A-8246-4BA4-AE5B-76104861E7D{n}" for n in range(3)]
    first = world.identify(LOGIN_A, *devices)
    document = default_policy().as_document()
    document["kinds"]["idfa"]["limit"] = 1
    world.graph.policy = Policy.from_document(document)

    again = world.identify(LOGIN_A, devices[0], "member_id:M")
    more = world.identify(LOGIN_A, "idfa:6D92078A-8246-4BA4-AE5B-76104861E7D9")

    assert (again.outcome, again.demoted) == ("matched", [])
    assert more.demoted == [world.accept("idfa:6D92078A-8246-4BA4-AE5B-76104861E7D9")]
    assert len(world.identifiers_of(first.survivor)) == 5


# -- merges --------------------------------------------------------------------------------
def test_several_persons_merge_into_the_oldest(world):
    ids = [world.identify(f"anonymous_id:a{n}").survivor for n in range(3)]
    decision = world.identify("anonymous_id:a2", "anonymous_id:a0", "anonymous_id:a1")

    assert decision.outcome == "merged"
    assert decision.survivor == ids[0]
    assert sorted(decision.absorbed) == ids[1:]
    assert all(world.graph.resolve(p) == ids[0] for p in ids)


def test_an_alias_of_an_alias_resolves_to_the_live_person(world):
    a = world.identify("anonymous_id:a").survivor
    b = world.identify("anonymous_id:b").survivor
    c = world.identify("anonymous_id:c").survivor
    world.identify("anonymous_id:b", "anonymous_id:c")  # c into b
    world.identify("anonymous_id:a", "anonymous_id:c")  # b into a

    assert world.graph.resolve(c) == world.graph.resolve(b) == a


def test_repeating_an_observation_matches_and_changes_nothing(world):
    first = world.identify(LOGIN_A, DEVICE, EMAIL)
    before = world.graph.partition()
    again = world.identify(EMAIL, DEVICE, LOGIN_A)

    assert (again.outcome, again.survivor, again.new_identifiers) == (
        "matched", first.survivor, [])  # fmt: skip
    assert world.graph.partition() == before


def test_links_run_from_the_strongest_identifier_to_each_other_one(world):
    decision = world.identify(DEVICE, EMAIL, LOGIN_A)

    head = world.accept(LOGIN_A)
    assert decision.links == [(head, world.accept(EMAIL)), (head, world.accept(DEVICE))]


def test_decide_needs_at_least_one_identifier():
    with pytest.raises(ValueError):
        decide([], InMemoryIdentityGraph(default_policy()), default_policy())


# -- holds ---------------------------------------------------------------------------------
def test_persons_held_apart_are_not_rejoined_and_the_weaker_identifier_is_demoted(world):
    member = world.identify("member_id:M1").survivor
    device = world.identify(DEVICE).survivor
    world.graph.hold_apart(member, device)

    decision = world.identify("member_id:M1", DEVICE)

    assert (decision.outcome, decision.survivor) == ("matched", member)
    assert decision.demoted == [world.accept(DEVICE)]
    assert "held apart" in decision.reasons[world.accept(DEVICE)]
    assert world.person_of(DEVICE) == device


def test_a_hold_follows_an_absorbed_person_into_its_survivor(world):
    member = world.identify("member_id:M1").survivor
    device = world.identify(DEVICE).survivor
    late = world.identify("anonymous_id:late").survivor
    world.graph.hold_apart(member, late)
    world.identify(DEVICE, "anonymous_id:late")  # late is absorbed into device

    decision = world.identify("member_id:M1", DEVICE)

    assert world.graph.held_apart([member, device])
    assert decision.demoted == [world.accept(DEVICE)]
    assert world.person_of(DEVICE) == device
