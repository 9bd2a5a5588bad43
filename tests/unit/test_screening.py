"""Rule 1: normalisation, validation, scopes, blocked values and keyed hashing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from identity import observation
from identity.errors import ObservationRefused
from identity.identifiers import Identifier
from identity.normalise import KeyedHasher
from identity.observation import RawIdentifier, ScreeningMemory, screen
from identity.policy import Policy, default_policy
from tests.oracle import HASHER, raw

POLICY = default_policy()


def screened(*texts: str):  # type: ignore[no-untyped-def]
    return screen([raw(t) for t in texts], POLICY, HASHER)


@pytest.mark.parametrize(
    "kind", ["login_id", "wechat_openid", "alipay_openid", "douyin_openid", "wechat_unionid",
             "douyin_unionid"],
)  # fmt: skip
def test_a_scoped_kind_without_a_scope_is_rejected(kind):
    result = screened(f"{kind}:v1", f"{kind}@ :v2")

    assert result.accepted == []
    assert [n.index for n in result.rejected] == [0, 1]
    assert all("needs a scope" in n.reason for n in result.rejected)


def test_an_unscoped_kind_with_a_scope_is_rejected():
    result = screened("member_id@app:M1")

    assert [n.reason for n in result.rejected] == ["kind member_id takes no scope"]


def test_an_unknown_kind_is_rejected_without_echoing_its_value():
    result = screened("secret_email:ann@example.com")

    assert result.rejected[0].reason == "unknown kind"
    assert "ann@example.com" not in str(result.rejected[0].as_document())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login_id@app: u1 ", Identifier("login_id", "app", "u1")),
        ("login_id@app:CaseKept", Identifier("login_id", "app", "CaseKept")),
        ("member_id: 007 ", Identifier("member_id", "", "007")),
        ("idfa:6d92078a-8246-4ba4-ae5b-76104861e7dc",
         Identifier("idfa", "", "6D92078A-8246-4BA4-AE5B-76104861E7DC")),
        ("oaid: ABC-def ", Identifier("oaid", "", "abc-def")),
        ("alipay_user_id:2088123412341234", Identifier("alipay_user_id", "", "2088123412341234")),
        ("wechat_openid@ wxA :o-1", Identifier("wechat_openid", "wxA", "o-1")),
    ],
)  # fmt: skip
def test_identifiers_are_normalised_by_their_kind(text, expected):
    assert screened(text).accepted == [expected]


@pytest.mark.parametrize(
    "text",
    ["idfa:not-a-uuid", "alipay_user_id:1088123412341234", "alipay_user_id:2088",
     "email:no-at-sign", "email:two@at@signs.com", "email:a b@c.com", "phone:12345",
     "phone:not a number"],
)  # fmt: skip
def test_invalid_values_are_rejected_with_a_reason(text):
    result = screened(text)

    assert result.accepted == [] and result.ignored == []
    assert result.rejected[0].reason


@pytest.mark.parametrize(
    "spelling",
    ["13800138000", "+86 138 0013 8000", "+8613800138000", "138-0013-8000", "(+86) 138 0013 8000"],
)
def test_every_spelling_of_a_chinese_mobile_number_is_one_hashed_phone(spelling):
    (phone,) = screened(f"phone:{spelling}").accepted

    assert phone == Identifier("phone", "", HASHER.hash("+8613800138000"))


def test_emails_are_lower_cased_and_trimmed_before_hashing():
    a, b = screened("email: Ann@Example.COM ").accepted + screened("email:ann@example.com").accepted

    assert a == b == Identifier("email", "", HASHER.hash("ann@example.com"))


def test_hashes_depend_on_the_deployment_secret():
    other = KeyedHasher(b"another-secret-0123456789")
    mine = screened("phone:13800138000").accepted[0]
    theirs = screen([RawIdentifier("phone", "13800138000")], POLICY, other).accepted[0]

    assert mine != theirs
    with pytest.raises(ValueError):
        KeyedHasher(b"short")


def test_rejected_personal_values_are_never_shown():
    result = screened("phone:12345", "email:no-at-sign")

    assert [n.value for n in result.rejected] == [None, None]
    assert "12345" not in str([n.as_document() for n in result.rejected])


def test_a_value_that_normalises_to_a_blocked_one_is_ignored():
    result = screened("oaid: 0000 ", "anonymous_id: 'NULL' ")

    assert [n.reason for n in result.ignored] == ["blocked value", "blocked value"]


def test_duplicates_in_one_observation_count_once():
    result = screened(
        "phone:13800138000",
        "phone:+86 138 0013 8000",
        "idfa:6d92078a-8246-4ba4-ae5b-76104861e7dc",
        "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DC",
    )

    assert len(result.accepted) == 2


def test_suppressed_identifiers_are_ignored():
    result = screen([raw("member_id:gone"), raw("member_id:kept")], POLICY, HASHER,
                    suppressed=lambda i: i.value == "gone")  # fmt: skip

    assert [i.value for i in result.accepted] == ["kept"]
    assert [n.reason for n in result.ignored] == ["suppressed"]


def test_a_refusal_lists_ignored_and_rejected_identifiers_in_request_order():
    result = screened("idfa:bad", "anonymous_id:null", "member_id@x:M")

    with pytest.raises(ObservationRefused) as refused:
        result.refuse_if_empty()
    assert list(refused.value.errors) == ["identifiers.0", "identifiers.1", "identifiers.2"]


def test_an_observation_with_one_usable_identifier_is_not_refused():
    screened("idfa:bad", "member_id:M").refuse_if_empty()


# -- what screening remembers between observations --------------------------------------
def test_a_raw_identifier_screened_again_under_the_same_policy_is_not_screened_again(
    monkeypatch,
):
    calls = []
    real = observation.screen_one
    monkeypatch.setattr(observation, "screen_one",
                        lambda *a: calls.append(a[1]) or real(*a))  # fmt: skip
    policy = fresh_policy()  # nothing remembered under it yet
    phone = raw("phone:13800138000")

    first = screen([phone, raw("idfa:null")], policy, HASHER)
    again = screen([raw("idfa:null"), raw("login_id@app:u1"), phone], policy, HASHER)

    assert calls == [phone, raw("idfa:null"), raw("login_id@app:u1")]
    assert again.accepted[1] is first.accepted[0]  # the phone, as it was hashed
    assert [(n.index, n.reason) for n in again.ignored] == [(0, "blocked value")]
    assert [(n.index, n.reason) for n in first.ignored] == [(1, "blocked value")]


def test_another_policy_or_secret_screens_afresh():
    policy = fresh_policy()
    phone = [raw("phone:13800138000")]
    first = screen(phone, policy, HASHER).accepted[0]

    other_secret = screen(phone, policy, KeyedHasher(b"another secret, 16+ bytes")).accepted[0]
    other_policy = screen(phone, fresh_policy(), HASHER).accepted[0]

    assert other_secret.value != first.value
    assert other_policy == first and other_policy is not first


def test_the_memory_forgets_everything_past_its_limit():
    memory = ScreeningMemory(limit=2)
    policy = fresh_policy()
    remembered = memory.outcomes(policy, HASHER)
    remembered.update({("k", str(n), None): Identifier("k", "", str(n)) for n in range(3)})

    assert memory.outcomes(policy, HASHER) == {}
    assert memory.outcomes(fresh_policy(), HASHER) == {}


def fresh_policy() -> Policy:
    """The default policy as an object of its own (``default_policy`` hands out one)."""
    return replace(default_policy())
