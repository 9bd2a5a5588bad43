"""Profile folding: traits by their merge rule, tags, channels and activity hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.observation import Observation
from identity.policy import Policy, default_policy
from identity.profile import Profile, Seen, TraitValue, combine_trait, peak_hours

T1 = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=1)
POLICY = Policy.from_document(
    {"traits": {"points": {"merge": "sum"}, "first_store": {"merge": "first"},
                "level": {"merge": "max"}}}
)  # fmt: skip


def seen(at: datetime, channel: str | None = None, **kwargs) -> Observation:  # type: ignore[no-untyped-def]
    return Observation([], timestamp=at, channel=channel, **kwargs)


def profile_of(*observations: Observation, policy: Policy = POLICY) -> Profile:
    profile = Profile()
    for observation in observations:
        profile.observe(observation, policy)
    return profile


@pytest.mark.parametrize(
    ("merge", "earlier", "later", "expected"),
    [
        ("latest", "silver", "gold", "gold"),
        ("first", "silver", "gold", "silver"),
        ("max", 7, 3, 7),
        ("max", 3, 7, 7),
        ("sum", 2, 5, 7),
    ],
)
def test_a_trait_combines_by_its_rule_whatever_order_it_arrives_in(merge, earlier, later, expected):
    old, new = TraitValue(earlier, T1, "crm"), TraitValue(later, T2, "app")

    assert combine_trait(merge, old, new).value == expected
    assert combine_trait(merge, new, old).value == expected


def test_latest_wins_by_timestamp_not_by_arrival_and_keeps_its_source():
    profile = profile_of(
        seen(T2, "app", traits={"membership_level": "gold"}),
        seen(T1, "crm", traits={"membership_level": "silver"}),
    )

    trait = profile.traits["membership_level"]
    assert (trait.value, trait.updated_at, trait.source) == ("gold", T2, "app")


def test_a_summed_trait_keeps_the_latest_time_and_source():
    trait = combine_trait("sum", TraitValue(2, T2, "app"), TraitValue(3, T1, "crm"))

    assert (trait.value, trait.updated_at, trait.source) == (5, T2, "app")


def test_max_orders_numbers_above_strings_above_null():
    assert combine_trait("max", TraitValue(None, T1), TraitValue("a", T1)).value == "a"
    assert combine_trait("max", TraitValue("z", T1), TraitValue(1, T1)).value == 1


def test_tags_and_channels_count_with_first_and_last_seen():
    profile = profile_of(
        seen(T2, "app", tags=["tea", "tea", "cake"]),
        seen(T1, "app", tags=["tea"]),
        seen(T1, "mini"),
    )

    assert profile.tags["tea"] == Seen(T1, T2, 2)  # a tag repeated in one observation counts once
    assert profile.tags["cake"] == Seen(T2, T2, 1)
    assert profile.channels == {"app": Seen(T1, T2, 2), "mini": Seen(T1, T1, 1)}


def test_activity_counts_hours_of_day_in_asia_shanghai():
    late_utc = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)  # 07:30 the next day in Shanghai
    profile = profile_of(seen(late_utc), seen(late_utc), seen(T1))  # T1 is 09:00 there

    assert profile.activity[7] == 2 and profile.activity[9] == 1
    assert sum(profile.activity) == 3
    assert peak_hours(profile.activity) == [7, 9]


def test_activity_follows_the_workspace_time_zone():
    london = Policy.from_document({"timezone": "Europe/London"})

    assert profile_of(seen(T1), policy=london).activity[1] == 1


def test_absorbing_a_profile_loses_nothing():
    mine = profile_of(
        seen(T1, "app", tags=["tea"], traits={"membership_level": "silver", "points": 10,
                                                "first_store": "Shanghai", "level": 2}),
    )  # fmt: skip
    theirs = profile_of(
        seen(T2, "mini", tags=["tea", "cake"], traits={"membership_level": "gold",
             "points": 5, "first_store": "Beijing", "level": 1, "city": "Hangzhou"}),
    )  # fmt: skip

    mine.absorb(theirs, POLICY)

    values = {name: t.value for name, t in mine.traits.items()}
    assert values == {"membership_level": "gold", "points": 15, "first_store": "Shanghai",
                      "level": 2, "city": "Hangzhou"}  # fmt: skip
    assert mine.tags == {"tea": Seen(T1, T2, 2), "cake": Seen(T2, T2, 1)}
    assert set(mine.channels) == {"app", "mini"}
    assert sum(mine.activity) == 2


def test_absorbing_copies_entries_instead_of_sharing_them():
    mine, theirs = Profile(), profile_of(seen(T1, "app", tags=["tea"]))

    mine.absorb(theirs, default_policy())
    mine.observe(seen(T2, "app", tags=["tea"]), default_policy())

    assert theirs.tags["tea"].count == 1 and theirs.channels["app"].count == 1


def test_peak_hours_are_the_busiest_first_with_earlier_hours_winning_ties():
    assert peak_hours([1] * 24) == [0, 1, 2]
    assert peak_hours([0] * 24) == []
