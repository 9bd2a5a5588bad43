"""Hypothesis strategies for observations that carry profile data (shared by the unit
and integration tests of merges)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from identity.observation import Observation
from identity.policy import Policy

TRAIT_POLICY = {
    "membership_level": {"merge": "latest"},
    "first_channel": {"merge": "first"},
    "best_score": {"merge": "max"},
    "points": {"merge": "sum"},
}
POLICY = Policy.from_document({"traits": TRAIT_POLICY})
BASE = datetime(2026, 10, 1, tzinfo=UTC)

# Few distinct timestamps, so that ties happen and their breaking is tested too.
timestamps = st.integers(0, 6).map(lambda h: BASE + timedelta(hours=5 * h))
traits = st.fixed_dictionaries(
    {},
    optional={
        "membership_level": st.sampled_from(["silver", "gold", "platinum"]),
        "first_channel": st.sampled_from(["app", "store"]),
        "best_score": st.integers(-5, 100),
        "points": st.integers(0, 500),
    },
)


def observations(identifier_sets: st.SearchStrategy[list[str]]) -> st.SearchStrategy[Observation]:
    """Observations of ``anonymous_id`` values drawn by ``identifier_sets``."""
    from identity.observation import RawIdentifier

    return st.builds(
        lambda ids, at, channel, tags, tr: Observation(
            [RawIdentifier("anonymous_id", v) for v in ids], at, channel=channel,
            tags=tags, traits=tr,
        ),
        identifier_sets,
        timestamps,
        st.sampled_from([None, "app", "wechat_mp", "alipay_mp"]),
        st.lists(st.sampled_from(["air_purifier", "tea", "skincare"]), max_size=3),
        traits,
    )  # fmt: skip
