"""SQL for profiles: traits, tags and channels in their own indexed tables."""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from identity.audience import trait_text
from identity.profile import Profile, Seen, TraitValue
from identity.store.models import Person, PersonChannel, PersonTag, PersonTrait, table
from identity.store.upsert import upsert

__all__ = ["ProfileRepository", "channel_set"]

_BATCH = 500


def channel_set(channels: Collection[str]) -> str | None:
    """The stored form of a person's channel set: a sorted JSON array, or ``None``.

    >>> channel_set({"wechat_mp", "app"})
    '["app","wechat_mp"]'
    """
    return json.dumps(sorted(channels), separators=(",", ":")) if channels else None


class ProfileRepository:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def load(
        self,
        activity: dict[str, list[int]],
        traits: Collection[str] | None = None,
        tags: Collection[str] | None = None,
        channels: Collection[str] | None = None,
    ) -> dict[str, Profile]:
        """The profiles of the persons in ``activity``; name ``traits``, ``tags`` and
        ``channels`` to load only those entries (``None`` loads all)."""
        ids = list(activity)
        profiles = {pid: Profile(activity=list(activity[pid])) for pid in ids}
        tr, tg, ch = table(PersonTrait).c, table(PersonTag).c, table(PersonChannel).c
        if traits is None or traits:
            query = select(tr.person_id, tr.name, tr.value, tr.updated_at, tr.source).where(
                tr.person_id.in_(ids)
            )
            if traits is not None:
                query = query.where(tr.name.in_(list(traits)))
            for pid, name, value, at, source in self.session.execute(query):
                profiles[pid].traits[name] = TraitValue(value, at, source)
        for entries_table, key, wanted, target in (
            (tg, tg.tag, tags, "tags"),
            (ch, ch.channel, channels, "channels"),
        ):
            if wanted is not None and not wanted:
                continue
            query = select(
                entries_table.person_id, key, entries_table.first_seen,
                entries_table.last_seen, entries_table.count,
            )  # fmt: skip
            query = query.where(entries_table.person_id.in_(ids))
            if wanted is not None:
                query = query.where(key.in_(list(wanted)))
            for pid, name, first, last, count in self.session.execute(query):
                getattr(profiles[pid], target)[name] = Seen(first, last, count)
        return profiles

    def save(self, person_id: str, profile: Profile) -> None:
        """Write every entry of ``profile`` (activity is the person row's business)."""
        base = {"person_id": person_id, "workspace_id": self.workspace_id}
        upsert(
            self.session,
            table(PersonTrait),
            [
                {**base, "name": name, "value": t.value, "value_text": trait_text(t.value),
                 "updated_at": t.updated_at, "source": t.source}
                for name, t in profile.traits.items()
            ],
            keys=["person_id", "name"],
            update=["value", "value_text", "updated_at", "source"],
        )  # fmt: skip
        seen_columns = ["first_seen", "last_seen", "count"]
        for seen_table, key, entries in (
            (table(PersonTag), "tag", profile.tags),
            (table(PersonChannel), "channel", profile.channels),
        ):
            rows = [
                {**base, key: name, "first_seen": s.first_seen, "last_seen": s.last_seen,
                 "count": s.count}
                for name, s in entries.items()
            ]  # fmt: skip
            upsert(self.session, seen_table, rows, keys=["person_id", key], update=seen_columns)

    def drop(self, person_ids: Collection[str]) -> None:
        ids = list(person_ids)
        for model in (PersonTrait, PersonTag, PersonChannel):
            self.session.execute(delete(model).where(model.person_id.in_(ids)))

    def refresh_channel_sets(self, person_ids: Collection[str]) -> None:
        """Set ``persons.channel_set`` of each person from its channel rows. Call it
        whenever a person may have gained a channel (a new channel, a merge)."""
        ids = sorted(set(person_ids))
        ch, persons = table(PersonChannel).c, table(Person)
        statement = (
            update(persons)
            .where(persons.c.id == bindparam("person"))
            .values(channel_set=bindparam("channels"))
        )
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            channels: dict[str, list[str]] = {pid: [] for pid in batch}
            for pid, name in self.session.execute(
                select(ch.person_id, ch.channel).where(ch.person_id.in_(batch))
            ):
                channels[pid].append(name)
            rows = [{"person": pid, "channels": channel_set(names)}
                    for pid, names in channels.items()]  # fmt: skip
            self.session.connection().execute(statement, rows)
