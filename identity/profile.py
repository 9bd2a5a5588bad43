"""The data bank profile and how observations and merges fold into it.

Everything here is pure: the stores load a :class:`Profile`, call these functions and
write the result back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from identity.observation import Observation
from identity.policy import Policy

__all__ = ["Profile", "Seen", "TraitValue", "combine_trait", "peak_hours"]

HOURS = 24


@dataclass
class TraitValue:
    value: Any
    updated_at: datetime
    source: str | None = None


@dataclass
class Seen:
    """When something (a tag, a channel) was first and last seen, and how often."""

    first_seen: datetime
    last_seen: datetime
    count: int = 1

    def see(self, at: datetime, count: int = 1) -> None:
        self.first_seen = min(self.first_seen, at)
        self.last_seen = max(self.last_seen, at)
        self.count += count

    def absorb(self, other: Seen) -> None:
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.count += other.count


@dataclass
class Profile:
    traits: dict[str, TraitValue] = field(default_factory=dict)
    tags: dict[str, Seen] = field(default_factory=dict)
    channels: dict[str, Seen] = field(default_factory=dict)
    activity: list[int] = field(default_factory=lambda: [0] * HOURS)

    def observe(self, observation: Observation, policy: Policy) -> None:
        """Fold one observation in.

        >>> from datetime import UTC
        >>> from identity.policy import default_policy
        >>> p = Profile()
        >>> at = datetime(2026, 11, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
        >>> p.observe(Observation([], at, channel="app", tags=["tea"],
        ...                       traits={"membership_level": "gold"}), default_policy())
        >>> p.traits["membership_level"].value, p.channels["app"].count, p.activity[9]
        ('gold', 1, 1)
        """
        at = observation.timestamp
        self.observe_traits(observation, policy)
        for tag in dict.fromkeys(observation.tags):
            _see(self.tags, tag, at)
        if observation.channel:
            _see(self.channels, observation.channel, at)
        self.activity[at.astimezone(policy.zone).hour] += 1

    def observe_traits(self, observation: Observation, policy: Policy) -> None:
        """Fold in the traits of one observation (and nothing else of it)."""
        at = observation.timestamp
        for name, value in observation.traits.items():
            incoming = TraitValue(value, at, observation.channel)
            self.traits[name] = combine_trait(
                policy.trait_merge(name), self.traits.get(name), incoming
            )

    def absorb(self, other: Profile, policy: Policy) -> None:
        """Merge another person's profile in; nothing it had is lost."""
        for name, value in other.traits.items():
            self.traits[name] = combine_trait(
                policy.trait_merge(name), self.traits.get(name), value
            )
        for mine, theirs in ((self.tags, other.tags), (self.channels, other.channels)):
            for key, seen in theirs.items():
                if key in mine:
                    mine[key].absorb(seen)
                else:
                    mine[key] = Seen(seen.first_seen, seen.last_seen, seen.count)
        self.activity = [a + b for a, b in zip(self.activity, other.activity, strict=True)]


def _see(table: dict[str, Seen], key: str, at: datetime) -> None:
    if key in table:
        table[key].see(at)
    else:
        table[key] = Seen(at, at)


def combine_trait(merge: str, current: TraitValue | None, incoming: TraitValue) -> TraitValue:
    """Combine two values of one trait by the trait's merge rule.

    Every rule is commutative and associative, so a profile does not depend on the
    order observations arrive in or on how merges group them: equal timestamps are
    broken by the value, then the source.

    >>> from datetime import UTC
    >>> t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    >>> combine_trait("latest", TraitValue("gold", t2), TraitValue("silver", t1)).value
    'gold'
    >>> combine_trait("first", TraitValue("gold", t2), TraitValue("silver", t1)).value
    'silver'
    >>> combine_trait("max", TraitValue(120, t1), TraitValue(80, t2)).value
    120
    >>> combine_trait("sum", TraitValue(2, t1), TraitValue(3, t2)).value
    5
    """
    if current is None:
        return TraitValue(incoming.value, incoming.updated_at, incoming.source)
    if merge == "sum":
        # The time and source of a sum must not depend on how its parts were grouped.
        latest = max(current, incoming, key=lambda t: (t.updated_at, t.source or ""))
        return TraitValue(current.value + incoming.value, latest.updated_at, latest.source)
    if merge == "first":
        return min(current, incoming, key=_by_time)
    if merge == "max":
        return max(current, incoming, key=_by_value)
    return max(current, incoming, key=_by_time)


def _by_time(trait: TraitValue) -> tuple[datetime, tuple[int, Any], str]:
    return (trait.updated_at, _order(trait.value), trait.source or "")


def _by_value(trait: TraitValue) -> tuple[tuple[int, Any], float, str]:
    # Of equal maxima the earliest keeps its time: when the maximum was first reached.
    return (_order(trait.value), -trait.updated_at.timestamp(), trait.source or "")


def _order(value: Any) -> tuple[int, Any]:
    # Numbers above strings above null, so mixed values still compare.
    if value is None:
        return (0, 0)
    if isinstance(value, bool | str):
        return (1, str(value))
    return (2, value)


def peak_hours(activity: list[int], top: int = 3) -> list[int]:
    """The busiest hours of day, busiest first (ties: earlier hour first).

    >>> peak_hours([0] * 20 + [5, 9, 5, 0])
    [21, 20, 22]
    """
    ranked = sorted((h for h in range(HOURS) if activity[h]), key=lambda h: (-activity[h], h))
    return ranked[:top]
