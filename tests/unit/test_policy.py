"""Policies: the defaults of SPEC section 2 and validation that reports every problem."""

from __future__ import annotations

import pytest

from identity.errors import PolicyInvalid
from identity.policy import Policy, default_policy


def test_the_default_policy_has_the_kinds_of_the_spec():
    kinds = default_policy().kinds

    assert (kinds["login_id"].scope, kinds["login_id"].limit, kinds["login_id"].priority) == (
        "app", 1, 10)  # fmt: skip
    assert (kinds["email"].limit, kinds["email"].personal) == (3, True)
    assert kinds["phone"].personal and kinds["phone"].limit == 1
    assert kinds["wechat_unionid"].scope == "platform"
    assert kinds["anonymous_id"].limit == 10 and kinds["anonymous_id"].priority == 90
    assert default_policy().timezone == "Asia/Shanghai"


def test_a_policy_survives_a_round_trip_through_its_document():
    document = default_policy().as_document()

    assert Policy.from_document(document).as_document() == document


def test_an_invalid_policy_reports_every_problem_at_once():
    document = {
        "kinds": {
            "crm_id": {"limit": 0, "priority": 2000, "scope": "galaxy"},
            "Bad-Name": {"limit": 1},
            "loyalty": {"normalise": "rot13", "colour": "red"},
            "flag": {"personal": "yes"},
            "odd": "not an object",
        },
        "traits": {"points": {"merge": "average"}},
        "blocked_patterns": ["("],
        "blocked_values": "null",
        "timezone": "Mars/Olympus_Mons",
        "phone_region": "XX",
        "colour": "blue",
    }

    with pytest.raises(PolicyInvalid) as invalid:
        Policy.from_document(document)

    # The index of a bad pattern depends on how given patterns join the defaults.
    fields = {f if not f.startswith("blocked_patterns.") else "blocked_patterns.N"
              for f in invalid.value.errors}  # fmt: skip
    assert fields == {
        "kinds.crm_id.limit", "kinds.crm_id.priority", "kinds.crm_id.scope", "kinds.Bad-Name",
        "kinds.loyalty.normalise", "kinds.loyalty.colour", "kinds.flag.personal", "kinds.odd",
        "traits.points", "blocked_patterns.N", "blocked_values", "timezone", "phone_region",
        "colour",
    }  # fmt: skip
    assert invalid.value.detail == f"the policy has {len(invalid.value.errors)} problems"


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "3", None, 10_001])
def test_a_limit_must_be_a_whole_number_in_range(limit):
    with pytest.raises(PolicyInvalid) as invalid:
        Policy.from_document({"kinds": {"crm_id": {"limit": limit}}})
    assert list(invalid.value.errors) == ["kinds.crm_id.limit"]


def test_an_unknown_field_of_a_kind_is_reported_not_ignored():
    with pytest.raises(PolicyInvalid) as invalid:
        Policy.from_document({"kinds": {"crm_id": {"limit": 1, "limt": 2}}})
    assert invalid.value.errors == {"kinds.crm_id.limt": "unknown field"}


def test_a_policy_document_must_be_an_object():
    with pytest.raises(PolicyInvalid):
        Policy.from_document(["kinds"])  # type: ignore[arg-type]


def test_a_workspace_kind_with_a_scope_is_checked_like_the_defaults():
    policy = Policy.from_document(
        {"kinds": {**default_policy().as_document()["kinds"], "crm_id": {"scope": "app"}}}
    )

    assert policy.kinds["crm_id"].scoped
    assert policy.kinds["crm_id"].limit == 1


def test_added_blocked_values_are_matched_case_insensitively_and_quoted():
    policy = Policy.from_document({"blocked_values": ["N/A"]})

    assert policy.is_blocked("n/a") and policy.is_blocked('"N/A"')
    assert not policy.is_blocked("gold")


def test_a_trait_rule_chooses_how_values_combine():
    policy = Policy.from_document({"traits": {"points": {"merge": "sum"}}})

    assert policy.trait_merge("points") == "sum"
    assert policy.trait_merge("anything_else") == "latest"
