"""Audience use cases: search persons, export them for a messaging tool, channel overlap."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from identity.audience import Audience, decode_cursor, encode_cursor
from identity.errors import InvalidInput
from identity.services.context import WorkspaceContext
from identity.services.transactions import read
from identity.store.audience import AudienceRepository
from identity.store.profiles import ProfileRepository
from identity.store.uow import Store, UnitOfWork

__all__ = ["EXPORT_PAGE", "MAX_OVERLAP_CHANNELS", "export", "overlap", "search"]

EXPORT_PAGE = 1000
MAX_OVERLAP_CHANNELS = 8


def search(
    store: Store, ws: WorkspaceContext, audience: Audience, cursor: str | None, limit: int
) -> dict[str, Any]:
    """One page of the audience: ``{persons: [...], next_cursor}``, ``next_cursor`` is
    ``None`` on the last page."""
    after = decode_cursor(cursor) if cursor else None
    persons = read(store, lambda uow: _page(uow, ws, audience, after, limit + 1))
    more = len(persons) > limit
    persons = persons[:limit]
    return {
        "persons": persons,
        "next_cursor": encode_cursor(persons[-1]["person_id"]) if more else None,
    }


def export(store: Store, ws: WorkspaceContext, audience: Audience) -> Iterator[dict[str, Any]]:
    """Every person of the audience, one summary at a time; each page of
    :data:`EXPORT_PAGE` is read in its own short transaction, so a long export holds
    no lock and no snapshot."""
    after: str | None = None
    while True:
        page = read(store, partial(_page, ws=ws, audience=audience, after=after, limit=EXPORT_PAGE))
        yield from page
        if len(page) < EXPORT_PAGE:
            return
        after = page[-1]["person_id"]


def overlap(store: Store, ws: WorkspaceContext, channels: Sequence[str]) -> dict[str, Any]:
    """Live persons per exact combination of ``channels`` and per channel.

    ``combinations`` lists every non-empty combination (zero counts included), largest
    first; a person is counted in the one combination of exactly the named channels it
    was seen in.
    """
    names = list(dict.fromkeys(c.strip() for c in channels if c.strip()))
    if not 1 <= len(names) <= MAX_OVERLAP_CHANNELS:
        raise InvalidInput(
            "name 1 to 8 channels",
            {"channels": f"between 1 and {MAX_OVERLAP_CHANNELS} distinct channel names"},
        )
    masks = read(store, lambda uow: AudienceRepository(uow.session, ws.id).overlap(names))
    # Largest combinations first, then in the order the channels were named.
    order = sorted(range(1, 1 << len(names)), key=lambda m: (-m.bit_count(), _bits(m)))
    combinations = [
        {"channels": [names[i] for i in _bits(mask)], "persons": masks.get(mask, 0)}
        for mask in order
    ]
    per_channel = {
        name: sum(count for mask, count in masks.items() if mask >> i & 1)
        for i, name in enumerate(names)
    }
    return {
        "channels": names,
        "persons": sum(masks.values()),
        "per_channel": per_channel,
        "combinations": combinations,
    }


def _page(
    uow: UnitOfWork, ws: WorkspaceContext, audience: Audience, after: str | None, limit: int
) -> list[dict[str, Any]]:
    ids = AudienceRepository(uow.session, ws.id).page(audience, after, limit)
    profiles = ProfileRepository(uow.session, ws.id).load({pid: [] for pid in ids})
    return [_summary(pid, profiles[pid]) for pid in ids]


def _summary(person_id: str, profile: Any) -> dict[str, Any]:
    last_seen: datetime | None = max((s.last_seen for s in profile.channels.values()), default=None)
    return {
        "person_id": person_id,
        "traits": {name: t.value for name, t in sorted(profile.traits.items())},
        "tags": sorted(profile.tags),
        "channels": sorted(profile.channels),
        "last_seen": last_seen,
    }


def _bits(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]
