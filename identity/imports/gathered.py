"""What a chunk's rows add to each person's profile, gathered per person before folding.

A person seen by fifty rows of a chunk gets one fold, not fifty
:meth:`~identity.profile.Profile.observe` calls: tags and channels are counted with
their first and last time as ranks of the chunk's distinct times (:class:`Timeline`),
activity as counts per hour. Only traits are folded row by row, in file order, so that a
``sum`` of floating-point numbers adds up in the same order as identifying row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from numpy.typing import NDArray

from identity.observation import Observation
from identity.policy import Policy
from identity.profile import HOURS, Profile, Seen

__all__ = ["Gathered", "Timeline", "epoch_micros", "gather"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(times: Sequence[datetime]) -> NDArray[np.int64]:
    """Microseconds from the epoch to each of the aware ``times``, exactly.

    >>> epoch_micros([datetime(1970, 1, 1, 8, 0, 0, 5, tzinfo=UTC)]).tolist()
    [28800000005]
    """
    return np.fromiter(
        ((at - _EPOCH) // _MICROSECOND for at in times), dtype=np.int64, count=len(times)
    )


@dataclass
class Timeline:
    """The distinct times of a chunk's rows, in order, and each row's place among them.

    ``stored`` is each time as the columns hold it (see :meth:`Bulk.when
    <identity.imports.bulk.Bulk.when>`).

    >>> from datetime import UTC, timedelta, timezone
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> t1 = t0.astimezone(timezone(timedelta(hours=8)))  # the same instant
    >>> line = Timeline.of([t0 + timedelta(hours=1), t0, t1],
    ...                    lambda times, micros: [at.timestamp() for at in times], UTC)
    >>> line.rank, line.stored, line.hour
    ([1, 0, 0], [1767225600.0, 1767229200.0], [0, 1])
    """

    times: list[datetime]  # one datetime of each distinct instant, earliest first
    stored: list[Any]  # the same as the columns hold them
    rank: list[int]  # each row's time as an index of ``times``
    hour: list[int]  # the hour of day of each of ``times`` in the workspace's zone

    @classmethod
    def of(
        cls,
        stamps: Sequence[datetime],
        stored: Callable[[Sequence[datetime], NDArray[np.int64]], list[Any]],
        zone: tzinfo,
    ) -> Timeline:
        """The timeline of rows at ``stamps``; ``stored`` gives times (and their
        :func:`epoch_micros`) as the columns hold them. Equal instants are one time, the
        first of them in ``stamps``; they are told apart as integers (comparing aware
        datetimes of different ``tzinfo`` objects, as parsing gives them, is slow)."""
        micros = epoch_micros(stamps)
        _, first, rank = np.unique(micros, return_index=True, return_inverse=True)
        times = [stamps[k] for k in first.tolist()]
        return cls(
            times,
            stored(times, micros[first]),
            rank.reshape(-1).tolist(),
            [at.astimezone(zone).hour for at in times],
        )


@dataclass(slots=True)
class Gathered:
    """What some rows add to one profile: per tag and channel ``[first, last, count]``
    (times as ranks of a :class:`Timeline`), counts per hour of day, and the rows that
    carry traits, in the order they came."""

    tags: dict[str, list[int]] = field(default_factory=dict)
    channels: dict[str, list[int]] = field(default_factory=dict)
    hours: list[int] = field(default_factory=lambda: [0] * HOURS)
    traits: list[Observation] = field(default_factory=list)

    def fold_into(self, profile: Profile, times: Sequence[datetime], policy: Policy) -> None:
        """Fold the rows into ``profile``: what observing each of them would do.

        >>> from datetime import UTC
        >>> from identity.policy import default_policy
        >>> at = [datetime(2026, 1, 1, h, tzinfo=UTC) for h in (1, 2)]
        >>> line = Timeline(at, at, [1, 0], [1, 2])
        >>> rows = [Observation([], at[1], channel="app"), Observation([], at[0], channel="app")]
        >>> profile = Profile()
        >>> gather(["p1", "p1"], rows, line)["p1"].fold_into(profile, at, default_policy())
        >>> seen = profile.channels["app"]
        >>> seen.first_seen.hour, seen.last_seen.hour, seen.count, profile.activity[:3]
        (1, 2, 2, [0, 1, 1])
        """
        for observation in self.traits:
            profile.observe_traits(observation, policy)
        for mine, counted in ((profile.tags, self.tags), (profile.channels, self.channels)):
            for key, (first, last, count) in counted.items():
                seen = Seen(times[first], times[last], count)
                if key in mine:
                    mine[key].absorb(seen)
                else:
                    mine[key] = seen
        activity = profile.activity
        for hour, count in enumerate(self.hours):
            if count:
                activity[hour] += count

    def profile(self, times: Sequence[datetime], policy: Policy) -> Profile:
        """A new profile of these rows alone (it takes over :attr:`hours`)."""
        profile = Profile(
            tags={key: Seen(times[f], times[t], n) for key, (f, t, n) in self.tags.items()},
            channels={key: Seen(times[f], times[t], n) for key, (f, t, n) in self.channels.items()},
            activity=self.hours,
        )
        for observation in self.traits:
            profile.observe_traits(observation, policy)
        return profile

    def trait_names(self) -> set[str]:
        return {name for observation in self.traits for name in observation.traits}


def gather(
    targets: Sequence[str], observations: Sequence[Observation], timeline: Timeline
) -> dict[str, Gathered]:
    """What the rows (``observations``, at the times of ``timeline``) add to each person,
    ``targets`` naming the person of each row; in the order the persons first appear."""
    gathered: dict[str, Gathered] = {}
    hour_of = timeline.hour
    for target, observation, rank in zip(targets, observations, timeline.rank, strict=True):
        rows = gathered.get(target)
        if rows is None:
            rows = gathered[target] = Gathered()
        rows.hours[hour_of[rank]] += 1
        if observation.channel:
            _count(rows.channels, observation.channel, rank)
        if observation.tags:
            for tag in dict.fromkeys(observation.tags):
                _count(rows.tags, tag, rank)
        if observation.traits:
            rows.traits.append(observation)
    return gathered


def _count(table: dict[str, list[int]], key: str, rank: int) -> None:
    entry = table.get(key)
    if entry is None:
        table[key] = [rank, rank, 1]
        return
    entry[2] += 1
    if rank < entry[0]:
        entry[0] = rank
    elif rank > entry[1]:
        entry[1] = rank
