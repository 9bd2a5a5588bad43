"""SQL for profiles: traits, tags and channels in their own indexed tables."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    JSON,
    Delete,
    Select,
    bindparam,
    delete,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from identity.audience import trait_text
from identity.profile import Profile, Seen, TraitValue
from identity.store.driver import Driver, in_list, list_size, listed
from identity.store.models import (
    Base,
    Person,
    PersonChannel,
    PersonTag,
    PersonTrait,
    UTCDateTime,
    table,
)
from identity.store.upsert import connection_of, upsert

__all__ = ["ProfileRepository", "channel_set"]

_BATCH = 500
_UNITED = 16  # persons, and names of each part, that one statement loads
_TRAITS, _TAGS, _CHANNELS = range(3)


def channel_set(channels: Collection[str]) -> str | None:
    """The stored form of a person's channel set: a sorted JSON array, or ``None``.

    >>> channel_set({"wechat_mp", "app"})
    '["app","wechat_mp"]'
    """
    return json.dumps(sorted(channels), separators=(",", ":")) if channels else None


class ProfileRepository:
    def __init__(self, session: Session | Connection, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self._connection: Connection | None = None

    def _db(self) -> Connection:
        if self._connection is None:
            self._connection = connection_of(self.session)
        return self._connection

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
        parts = (traits, tags, channels)
        if len(ids) <= _UNITED and all(p is None or len(p) <= _UNITED for p in parts):
            self._load_united(profiles, parts)
            return profiles
        connection = self._db()
        if traits is None or traits:
            query = _load_query(PersonTrait, traits is not None)
            params = {"ids": ids, "names": list(traits or ())}
            for pid, name, value, at, source in connection.execute(query, params):
                profiles[pid].traits[name] = TraitValue(value, at, source)
        for model, wanted, target in (
            (PersonTag, tags, "tags"),
            (PersonChannel, channels, "channels"),
        ):
            if wanted is not None and not wanted:
                continue
            params = {"ids": ids, "names": list(wanted or ())}
            query = _load_query(model, wanted is not None)
            for pid, name, first, last, count in connection.execute(query, params):
                getattr(profiles[pid], target)[name] = Seen(first, last, count)
        return profiles

    def _load_united(
        self, profiles: dict[str, Profile], wanted: tuple[Collection[str] | None, ...]
    ) -> None:
        """The few entries of a few persons (the online paths) in one statement."""
        parts = [(part, names) for part, names in enumerate(wanted) if names is None or names]
        if not parts or not profiles:
            return
        shape = tuple((part, None if names is None else list_size(len(names)))
                      for part, names in parts)  # fmt: skip
        params = listed("p", list(profiles))
        for part, names in parts:
            if names is not None:
                params.update(listed(f"n{part}_", list(names)))
        query = _united_query(list_size(len(profiles)), shape)
        for part, pid, name, value, first, last, count, source in Driver(self._db()).rows(
            query, params
        ):
            profile = profiles[pid]
            if part == _TRAITS:
                profile.traits[name] = TraitValue(value, first, source)
            else:
                (profile.tags if part == _TAGS else profile.channels)[name] = Seen(
                    first, last, count
                )

    def save(self, person_id: str, profile: Profile) -> None:
        """Write every entry of ``profile`` (activity is the person row's business)."""
        base = {"person_id": person_id, "workspace_id": self.workspace_id}
        upsert(
            self._db(),
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
            upsert(self._db(), seen_table, rows, keys=["person_id", key], update=seen_columns)

    def drop(self, person_ids: Collection[str]) -> None:
        ids = list(person_ids)
        driver = Driver(self._db())
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            for model in (PersonTrait, PersonTag, PersonChannel):
                driver.run(_drop_statement(model, list_size(len(chunk))), listed("p", chunk))

    def refresh_channel_sets(self, person_ids: Collection[str]) -> None:
        """Set ``persons.channel_set`` of each person from its channel rows. Call it
        whenever a person may have gained a channel (a new channel, a merge)."""
        ids = sorted(set(person_ids))
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            channels: dict[str, list[str]] = {pid: [] for pid in batch}
            for pid, name in self._db().execute(_CHANNELS_OF, {"ids": batch}):
                channels[pid].append(name)
            rows = [{"person": pid, "channels": channel_set(names)}
                    for pid, names in channels.items()]  # fmt: skip
            self._db().execute(_CHANNEL_SET_UPDATE, rows)


_CHANNELS_OF = select(table(PersonChannel).c.person_id, table(PersonChannel).c.channel).where(
    table(PersonChannel).c.person_id.in_(bindparam("ids", expanding=True))
)
_CHANNEL_SET_UPDATE = (
    update(table(Person))
    .where(table(Person).c.id == bindparam("person"))
    .values(channel_set=bindparam("channels"))
)


@functools.lru_cache(maxsize=64)
def _drop_statement(model: type[Base], size: int) -> Delete:
    return delete(table(model)).where(in_list(table(model).c.person_id, "p", size))


@functools.lru_cache(maxsize=256)
def _united_query(persons: int, shape: tuple[tuple[int, int | None], ...]) -> Select[Any]:
    """The entries of ``persons`` persons (``p<n>``) of each part in ``shape``: ``(part,
    names)``, all its entries when ``names`` is None, else those named ``n<part>_<j>``.
    Every row is ``(part, person, name, value, first or updated, last, count, source)``."""
    branches = []
    for part, names in shape:
        t = table((PersonTrait, PersonTag, PersonChannel)[part]).c
        tag: Any = literal_column(str(part))
        if part == _TRAITS:
            name = t.name
            query = select(tag, t.person_id, name, t.value, t.updated_at,
                           type_coerce(null(), UTCDateTime()), null(), t.source)  # fmt: skip
        else:
            name = t.tag if part == _TAGS else t.channel
            query = select(tag, t.person_id, name, type_coerce(null(), JSON()), t.first_seen,
                           t.last_seen, t.count, null())  # fmt: skip
        query = query.where(in_list(t.person_id, "p", persons))
        branches.append(query if names is None else query.where(in_list(name, f"n{part}_", names)))
    return branches[0] if len(branches) == 1 else union_all(*branches)  # type: ignore[return-value]


@functools.cache
def _load_query(model: type[Base], named: bool) -> Select[Any]:
    """The entries of the persons ``ids`` (and, when ``named``, of the ``names`` only),
    built once per table and shape."""
    t = table(model).c
    if model is PersonTrait:
        query = select(t.person_id, t.name, t.value, t.updated_at, t.source)
        name = t.name
    else:
        name = t.tag if model is PersonTag else t.channel
        query = select(t.person_id, name, t.first_seen, t.last_seen, t.count)
    query = query.where(t.person_id.in_(bindparam("ids", expanding=True)))
    return query.where(name.in_(bindparam("names", expanding=True))) if named else query
