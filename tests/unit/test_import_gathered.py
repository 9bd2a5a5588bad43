"""Gathering a chunk's rows per person, then folding once, gives the profile that
observing each row in order gives (hypothesis, no database)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from identity.imports.bulk import stored_times
from identity.imports.gathered import Timeline, gather
from identity.observation import Observation
from identity.profile import Profile
from tests.profile_strategies import POLICY, observations

SHANGHAI = timezone(timedelta(hours=8))
anything = observations(st.lists(st.sampled_from("abc"), min_size=1, max_size=2))
# the same instants written in another offset, as a file's rows may be
rows = st.tuples(anything, st.booleans()).map(
    lambda pair: replace(pair[0], timestamp=pair[0].timestamp.astimezone(SHANGHAI))
    if pair[1] else pair[0]
)  # fmt: skip


def stored_form(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def stored_forms(times: list[datetime], micros: object = None) -> list[str]:
    return [stored_form(at) for at in times]


def profile_of(items: list[Observation]) -> Profile:
    profile = Profile()
    for observation in items:
        profile.observe(observation, POLICY)
    return profile


@settings(deadline=None)  # slow examples on a busy machine are no failure
@given(
    st.lists(st.tuples(rows, st.integers(0, 3)), max_size=30),
    st.lists(st.none() | st.lists(anything, max_size=4), min_size=4, max_size=4),
)
def test_gathering_then_folding_equals_observing_row_by_row(assigned, before):
    """Rows land on four persons that each start with some profile of their own, or
    none (a person the chunk makes)."""
    expected = [profile_of(items or []) for items in before]
    got = copy.deepcopy(expected)
    for observation, person in assigned:
        expected[person].observe(observation, POLICY)

    timeline = Timeline.of([o.timestamp for o, _ in assigned], stored_forms, POLICY.zone)
    gathered = gather([p for _, p in assigned], [o for o, _ in assigned], timeline)
    for person, rows_of in gathered.items():
        if before[person] is None:
            got[person] = rows_of.profile(timeline.times, POLICY)
        else:
            rows_of.fold_into(got[person], timeline.times, POLICY)

    assert got == expected
    # the key order of tags and channels (the order their rows are written in) too
    for mine, theirs in zip(got, expected, strict=True):
        assert list(mine.tags) == list(theirs.tags)
        assert list(mine.channels) == list(theirs.channels)


@settings(deadline=None)  # slow examples on a busy machine are no failure
@given(st.lists(rows, max_size=30))
def test_a_timeline_orders_the_distinct_instants(items):
    stamps = [o.timestamp for o in items]
    timeline = Timeline.of(stamps, stored_forms, POLICY.zone)
    assert timeline.times == sorted(set(stamps))
    # each instant as it first came (the profiles keep that datetime)
    assert all(next(s for s in stamps if s == at) is at for at in timeline.times)
    assert timeline.stored == [stored_form(at) for at in timeline.times]
    assert [timeline.times[k] for k in timeline.rank] == stamps
    assert timeline.hour == [at.astimezone(POLICY.zone).hour for at in timeline.times]


@settings(deadline=None)  # slow examples on a busy machine are no failure
@given(st.lists(st.datetimes(datetime(1900, 1, 2), datetime(2200, 1, 1),
                             timezones=st.timezones()), max_size=10))  # fmt: skip
def test_times_are_stored_at_once_as_one_by_one(times):
    naive = [at.astimezone(UTC).replace(tzinfo=None) for at in times]
    assert stored_times(times, text=False) == naive
    assert stored_times(times, text=True) == [stored_form(at) for at in times]
