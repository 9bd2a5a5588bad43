"""SQL for profiles: traits, tags and channels in their own indexed tables."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from identity.audience import trait_text
from identity.profile import Profile, Seen, TraitValue
from identity.store.models import PersonChannel, PersonTag, PersonTrait, table
from identity.store.upsert import upsert

__all__ = ["ProfileRepository"]


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
