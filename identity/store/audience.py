"""SQL of audiences and channel overlap, written so that each request reads indexes.

An audience page is driven by the most selective named condition through an index that
is ordered by person id (``ix_*_audience`` of migration ``0002_insights``), the other
conditions are primary-key probes (``EXISTS``), and the page stops at its limit: the
work grows with the page, not with the workspace.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from identity.audience import Audience
from identity.store.models import Person, PersonChannel, PersonTag, PersonTrait, table

__all__ = ["AudienceRepository"]

_Condition = tuple[Any, list[ColumnElement[bool]]]


class AudienceRepository:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def page(self, audience: Audience, after: str | None, limit: int) -> list[str]:
        """Up to ``limit`` live person ids of the audience, in id order, after ``after``."""
        indexed = _indexed_conditions(audience)
        if indexed:
            (driver, clauses), probes = indexed[0], indexed[1:]
            key = driver.c.person_id
            query = select(key).where(driver.c.workspace_id == self.workspace_id, *clauses)
        else:  # profile rows exist only for live persons; the persons table needs a filter
            probes, persons = [], table(Person)
            key = persons.c.id
            query = select(key).where(
                persons.c.workspace_id == self.workspace_id, persons.c.merged_into.is_(None)
            )
        for probe, clauses in probes + _any_channel(audience):
            query = query.where(exists(select(1).where(probe.c.person_id == key, *clauses)))
        if after is not None:
            query = query.where(key > after)
        return list(self.session.execute(query.order_by(key).limit(limit)).scalars())

    def overlap(self, channels: Sequence[str]) -> dict[int, int]:
        """Persons per exact combination of ``channels``, as ``{bitmask: persons}``
        (bit ``i`` set: seen in ``channels[i]``).

        One grouped scan of the live persons' channel-set index: a workspace has few
        distinct channel sets, each is folded into its mask over the named channels.
        """
        p = table(Person).c
        query = (
            select(p.channel_set, func.count())
            .where(p.workspace_id == self.workspace_id, p.merged_into.is_(None),
                   p.channel_set.is_not(None))
            .group_by(p.channel_set)
        )  # fmt: skip
        bits = {name: 1 << i for i, name in enumerate(channels)}
        masks: Counter[int] = Counter()
        for stored, persons in self.session.execute(query):
            mask = sum(bits.get(name, 0) for name in json.loads(stored))
            if mask:
                masks[mask] += persons
        return dict(masks)


def _indexed_conditions(audience: Audience) -> list[_Condition]:
    """Conditions that an ordered index can answer, most selective kind first."""
    out: list[_Condition] = []
    for name, value in audience.traits:
        t = table(PersonTrait).alias()
        out.append((t, [t.c.name == name, t.c.value_text == value]))
    for tag in audience.tags:
        t = table(PersonTag).alias()
        out.append((t, [t.c.tag == tag]))
    for channel in audience.channels:
        t = table(PersonChannel).alias()
        since = [t.c.last_seen >= audience.seen_since] if audience.seen_since else []
        out.append((t, [t.c.channel == channel, *since]))
    return out


def _any_channel(audience: Audience) -> list[_Condition]:
    """ "Seen in any channel since": a probe of the person's few channel rows."""
    if audience.seen_since is None or audience.channels:
        return []
    t = table(PersonChannel).alias()
    return [(t, [t.c.last_seen >= audience.seen_since])]
