"""Write what a replayed chunk did, in bulk: persons, identifiers, links, profiles,
holds, history, junk counts and the first answer of each message id.

Everything is aggregated in memory first (per person, per identifier, per link), so each
table gets one bulk insert of the new rows and one set of updates of the stored rows it
changes, however many rows of the chunk touched them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, delete, text

from identity.audience import trait_text
from identity.imports.bulk import Bulk
from identity.imports.evidence import Evidence, Uses, link_evidence
from identity.imports.existing import Existing
from identity.imports.gathered import Gathered, Timeline, gather
from identity.imports.replay import Replay, Step
from identity.observation import Observation
from identity.profile import Profile, Seen
from identity.services.context import WorkspaceContext
from identity.services.identify import answer_of, history_parts
from identity.store.models import (
    Contested,
    Hold,
    PersonChannel,
    PersonTag,
    PersonTrait,
    table,
)
from identity.store.profiles import ProfileRepository
from identity.store.upsert import upsert

__all__ = ["write_chunk"]


@dataclass
class _Chunk:
    bulk: Bulk
    ws: WorkspaceContext
    existing: Existing
    replay: Replay
    steps: list[Step]
    observations: list[Observation]  # each step's
    now: datetime
    timeline: Timeline
    uses: Uses  # every use of an identifier code by a row
    created: list[str] = field(default_factory=list)  # persons the chunk made, in order
    absorbed: list[str] = field(default_factory=list)  # stored persons it absorbed
    profiles: dict[str, Profile] = field(default_factory=dict)  # live persons it touched
    dirty: dict[str, _Names] = field(default_factory=dict)  # changed entries, stored persons
    stored_channels: dict[str, set[str]] = field(default_factory=dict)  # of stored persons
    notable: list[Step] = field(default_factory=list)  # all steps but plain matches


def write_chunk(
    bulk: Bulk,
    ws: WorkspaceContext,
    existing: Existing,
    replay: Replay,
    steps: list[Step],
    trigger: str,
    now: datetime,
) -> None:
    observations = [step.row.observation for step in steps]
    timeline = Timeline.of([o.timestamp for o in observations], bulk.when_many, ws.policy.zone)
    uses = Uses.of([step.codes for step in steps], timeline.rank)
    chunk = _Chunk(bulk, ws, existing, replay, steps, observations, now, timeline, uses)
    for step in steps:
        decision = step.decision
        if decision.outcome == "created":
            chunk.created.append(step.person)
        elif decision.absorbed:
            chunk.absorbed.extend(p for p in decision.absorbed if p in existing.persons)
        elif not (decision.new_identifiers or decision.demoted or step.row.screened.ignored):
            continue  # a plain match: no history, no junk (most rows of a large file)
        chunk.notable.append(step)
    _fold_profiles(chunk)
    _write_persons(chunk)
    row_ids = _write_identifiers(chunk)
    _write_links(chunk, row_ids)
    _write_profiles(chunk)
    _move_holds(chunk)
    _write_history(chunk, trigger)
    _write_contested(chunk)
    _write_messages(chunk)


# -- profiles and persons -------------------------------------------------------------
def _fold_profiles(chunk: _Chunk) -> None:
    """Each live person's profile: the stored traits it needs, the whole profiles of the
    stored persons it absorbed, then what the rows that went to it add (gathered per
    person first). ``chunk.dirty`` names what changed in stored ones; their tags and
    channels hold only what the chunk adds, summed with the stored rows in SQL."""
    live, policy, stored = chunk.replay.live, chunk.ws.policy, chunk.existing.persons
    gathered = _gather(chunk)
    repository = ProfileRepository(chunk.bulk.session, chunk.ws.id)
    absorbed: dict[str, Profile] = {}
    for part in chunk.bulk.chunks(sorted(set(chunk.absorbed))):
        absorbed.update(repository.load({p: stored[p].activity for p in part}))
    keep = [person for person in gathered if person in stored]
    wanted = _Names()
    for person in keep:
        wanted.add_gathered(gathered[person])
    for profile in absorbed.values():
        wanted.add_profile(profile)
    profiles, dirty = chunk.profiles, chunk.dirty
    traits = sorted(wanted.traits)
    for part in chunk.bulk.chunks(sorted(keep)):
        loaded = repository.load({p: stored[p].activity for p in part}, traits, (), ())
        profiles.update(loaded)
        dirty.update((p, _Names()) for p in loaded)
    chunk.stored_channels = _channel_names(chunk.bulk, keep)
    for person, whole in absorbed.items():
        profiles[live(person)].absorb(whole, policy)
        dirty[live(person)].add_profile(whole)
    times = chunk.timeline.times
    for target, rows in gathered.items():
        if target not in profiles:
            profiles[target] = rows.profile(times, policy)
            continue
        rows.fold_into(profiles[target], times, policy)
        if target in dirty:
            dirty[target].add_gathered(rows)


def _channel_names(bulk: Bulk, persons: list[str]) -> dict[str, set[str]]:
    """The stored channels of ``persons`` (the person row keeps the set of them)."""
    names: dict[str, set[str]] = defaultdict(set)
    if persons:
        bulk.keys_table("import_channels_of", "id VARCHAR(40)", [(p,) for p in persons])
        query = text(
            "SELECT c.person_id, c.channel FROM person_channels c "
            "JOIN import_channels_of k ON k.id = c.person_id"
        )
        for person, channel in bulk.session.execute(query).all():
            names[person].add(channel)
    return names


def _gather(chunk: _Chunk) -> dict[str, Gathered]:
    alias, live = chunk.replay.alias, chunk.replay.live
    targets = [live(s.person) if s.person in alias else s.person for s in chunk.steps]
    return gather(targets, chunk.observations, chunk.timeline)


@dataclass
class _Names:
    """Names of profile entries: traits, tags, channels."""

    traits: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)

    def add_gathered(self, gathered: Gathered) -> None:
        self.traits.update(gathered.trait_names())
        self.tags.update(gathered.tags)
        self.channels.update(gathered.channels)

    def add_profile(self, profile: Profile) -> None:
        self.traits.update(profile.traits)
        self.tags.update(profile.tags)
        self.channels.update(profile.channels)


def _write_persons(chunk: _Chunk) -> None:
    bulk, live, now = chunk.bulk, chunk.replay.live, chunk.now
    at = bulk.when(now)
    zeros = bulk.doc([0] * 24)
    rows: list[tuple[Any, ...]] = []
    for person in chunk.created:
        survivor = live(person)
        if survivor == person:
            profile = chunk.profiles[person]
            rows.append((person, chunk.ws.id, at, at, None, None, bulk.doc(profile.activity),
                         bulk.channel_set(profile.channels)))  # fmt: skip
        else:
            rows.append((person, chunk.ws.id, at, at, survivor, at, zeros, None))
    bulk.insert("persons", ["id", "workspace_id", "created_at", "updated_at", "merged_into",
                            "merged_at", "activity", "channel_set"], rows)  # fmt: skip
    bulk.execute_many(
        "UPDATE persons SET merged_into = ?, merged_at = ?, updated_at = ? "
        "WHERE id = ? OR merged_into = ?",
        [(live(p), at, at, p, p) for p in chunk.absorbed],
    )
    channels = chunk.stored_channels
    bulk.update(
        "persons", ["activity", "channel_set", "updated_at"],
        [(bulk.doc(profile.activity),
          bulk.channel_set(channels.get(person, set()) | profile.channels.keys()), at, person)
         for person, profile in chunk.profiles.items() if person in chunk.existing.persons],
    )  # fmt: skip


# -- identifiers and links ------------------------------------------------------------
def _write_identifiers(chunk: _Chunk) -> dict[int, int]:
    """Insert the new identifiers, move those of absorbed persons, widen first/last
    seen of the stored ones; returns ``code -> identifiers.id`` for every code used."""
    bulk, existing, live = chunk.bulk, chunk.existing, chunk.replay.live
    seen = chunk.uses.first_last(len(chunk.replay.catalogue.identifiers))
    stored_times = chunk.timeline.stored
    row_ids = dict(existing.row_id)
    identifiers, owner = chunk.replay.catalogue.identifiers, chunk.replay.owner
    fresh = [code for code in seen if code not in row_ids]
    row_ids.update(zip(fresh, bulk.reserve_ids("identifiers", len(fresh)), strict=True))
    rows = []
    for code in fresh:
        i, (f, t) = identifiers[code], seen[code]
        rows.append((row_ids[code], chunk.ws.id, i.kind, i.scope, i.value, live(owner[code]),
                     stored_times[f], stored_times[t]))  # fmt: skip
    bulk.insert("identifiers", ["id", "workspace_id", "kind", "scope", "value", "person_id",
                                "first_seen", "last_seen"], rows)  # fmt: skip
    bulk.execute_many(
        "UPDATE identifiers SET person_id = ? WHERE person_id = ?",
        [(live(p), p) for p in chunk.absorbed],
    )
    widened = []
    for code, (stored_first, stored_last) in existing.seen.items():
        if code in seen:  # compared as the columns hold them
            first, last = stored_times[seen[code][0]], stored_times[seen[code][1]]
            if first < stored_first or last > stored_last:
                widened.append((min(first, stored_first), max(last, stored_last), row_ids[code]))
    bulk.update("identifiers", ["first_seen", "last_seen"], widened)
    return row_ids


def _write_links(chunk: _Chunk, row_ids: dict[int, int]) -> None:
    """Rule 6 links of every row, aggregated per edge, then inserted or strengthened."""
    observations = chunk.observations
    edges = {
        (row_ids[source], row_ids[target]): evidence
        for (source, target), evidence in link_evidence(
            chunk.uses,
            [o.channel for o in observations],
            [o.message_id for o in observations],
            len(chunk.replay.catalogue.identifiers),
        ).items()
    }
    stored = _stored_links(chunk, edges)
    bulk, stored_times = chunk.bulk, chunk.timeline.stored
    updates = []
    for key, (link_id, first, last, count, channels) in stored.items():
        new = edges.pop(key)  # times compared as the columns hold them
        merged = list(channels) + [c for c in new.channels if c not in channels]
        first = min(first, stored_times[new.first_seen])
        last = max(last, stored_times[new.last_seen])
        updates.append((count + new.count, first, last, bulk.names(merged), link_id))
    bulk.update("links", ["count", "first_seen", "last_seen", "channels"], updates)
    ws_id = chunk.ws.id
    bulk.insert(
        "links",
        ["workspace_id", "source_id", "target_id", "first_seen", "last_seen", "count",
         "channels", "first_message_id"],
        ((ws_id, s, t, stored_times[e.first_seen], stored_times[e.last_seen], e.count,
          bulk.names(e.channels), e.first_message_id) for (s, t), e in edges.items()),
    )  # fmt: skip


def _stored_links(
    chunk: _Chunk, edges: dict[tuple[int, int], Evidence]
) -> dict[tuple[int, int], tuple[Any, ...]]:
    """The stored links among ``edges`` (only edges between two stored identifiers can
    be), in one query over a temporary table of those pairs."""
    old = set(chunk.existing.row_id.values())
    candidates = [key for key in edges if key[0] in old and key[1] in old]
    if not candidates:
        return {}
    chunk.bulk.keys_table("import_pairs", "source_id BIGINT, target_id BIGINT", candidates)
    query = text(
        "SELECT l.id, l.source_id, l.target_id, l.first_seen, l.last_seen, l.count, l.channels "
        "FROM import_pairs k JOIN links l ON l.source_id = k.source_id "
        "AND l.target_id = k.target_id"
    ).columns(channels=JSON)
    return {(row[1], row[2]): (row[0], *row[3:]) for row in chunk.bulk.session.execute(query).all()}


# -- profile rows, holds ----------------------------------------------------------------
_TRAIT_COLUMNS = ["person_id", "name", "workspace_id", "value", "value_text", "updated_at",
                  "source"]  # fmt: skip
_SEEN_COLUMNS = ["workspace_id", "count", "first_seen", "last_seen"]


def _write_profiles(chunk: _Chunk) -> None:
    """Insert the profiles of the persons the chunk made; write the changed entries of
    stored persons; drop those of the stored persons it absorbed."""
    bulk = chunk.bulk
    for part in bulk.chunks(sorted(set(chunk.absorbed))):
        for model in (PersonTrait, PersonTag, PersonChannel):
            bulk.session.execute(delete(model).where(model.person_id.in_(part)))
    made = [p for p in chunk.profiles if p not in chunk.dirty]
    traits, tags, channels = _profile_rows(chunk, made, None)
    bulk.insert("person_traits", _TRAIT_COLUMNS, traits)
    bulk.insert("person_tags", ["person_id", "tag", *_SEEN_COLUMNS], tags)
    bulk.insert("person_channels", ["person_id", "channel", *_SEEN_COLUMNS], channels)
    traits, tags, channels = _profile_rows(chunk, list(chunk.dirty), chunk.dirty)
    least, greatest = ("min", "max") if bulk.sqlite else ("LEAST", "GREATEST")
    for name, key, columns, rows in (
        ("person_traits", "name", _TRAIT_COLUMNS, traits),
        ("person_tags", "tag", ["person_id", "tag", *_SEEN_COLUMNS], tags),
        ("person_channels", "channel", ["person_id", "channel", *_SEEN_COLUMNS], channels),
    ):
        changes = ", ".join(f"{c} = excluded.{c}" for c in columns[3:])
        if name != "person_traits":  # what the chunk adds to what is stored
            changes = (f"count = {name}.count + excluded.count, "
                       f"first_seen = {least}({name}.first_seen, excluded.first_seen), "
                       f"last_seen = {greatest}({name}.last_seen, excluded.last_seen)")  # fmt: skip
        bulk.upsert(name, columns, f"person_id, {key}", changes, rows)


def _profile_rows(
    chunk: _Chunk, persons: list[str], only: dict[str, _Names] | None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of the profile entries of ``persons`` (only the ``only`` names of each)."""
    ws_id, when, doc = chunk.ws.id, chunk.bulk.when, chunk.bulk.doc
    traits: list[tuple[Any, ...]] = []
    tags: list[tuple[str, str, Seen]] = []
    channels: list[tuple[str, str, Seen]] = []
    for person in persons:
        profile, names = chunk.profiles[person], None if only is None else only[person]
        for name, t in profile.traits.items():
            if names is None or name in names.traits:
                traits.append((person, name, ws_id, doc(t.value), trait_text(t.value),
                               when(t.updated_at), t.source))  # fmt: skip
        for entries, found, wanted in (
            (tags, profile.tags, None if names is None else names.tags),
            (channels, profile.channels, None if names is None else names.channels),
        ):
            entries.extend((person, key, s) for key, s in found.items()
                           if wanted is None or key in wanted)  # fmt: skip
    return traits, _seen_rows(chunk, tags), _seen_rows(chunk, channels)


def _seen_rows(chunk: _Chunk, entries: list[tuple[str, str, Seen]]) -> list[tuple[Any, ...]]:
    ws_id, when = chunk.ws.id, chunk.bulk.when  # remembers the chunk's times (``when_many``)
    return [(person, key, ws_id, s.count, when(s.first_seen), when(s.last_seen))
            for person, key, s in entries]  # fmt: skip


def _move_holds(chunk: _Chunk) -> None:
    """Holds of absorbed persons pass to their survivors, as a merge does."""
    gone = set(chunk.absorbed)
    moved = [pair for pair in chunk.existing.holds if gone.intersection(pair)]
    if not moved:
        return
    live, h = chunk.replay.live, table(Hold)
    bulk = chunk.bulk
    for part in bulk.chunks(sorted(gone)):
        bulk.session.execute(delete(h).where(h.c.person_a.in_(part) | h.c.person_b.in_(part)))
    pairs = {tuple(sorted((live(a), live(b)))) for a, b in moved}
    rows = [{"person_a": a, "person_b": b, "workspace_id": chunk.ws.id, "created_at": chunk.now}
            for a, b in sorted(pairs) if a != b]  # fmt: skip
    upsert(bulk.session, h, rows, keys=["person_a", "person_b"])


# -- history, junk counts, messages ---------------------------------------------------
def _write_history(chunk: _Chunk, trigger: str) -> None:
    bulk, ws_id, at = chunk.bulk, chunk.ws.id, chunk.bulk.when(chunk.now)
    rows = []
    for step in chunk.notable:
        message_id = step.row.observation.message_id
        cause = f"message:{message_id}" if message_id else trigger
        for person, action, reason, details in history_parts(step.person, step.decision):
            rows.append((ws_id, person, at, action, cause, reason, bulk.doc(details)))
    bulk.insert("history", ["workspace_id", "person_id", "at", "action", "trigger", "reason",
                            "details"], rows)  # fmt: skip


def _write_contested(chunk: _Chunk) -> None:
    """Demoted and blocked values counted as identifying row by row counts them."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for step in chunk.notable:
        for i in step.decision.demoted:
            counts[(i.kind, i.scope, i.value, "demoted")] += 1
        ignored = step.row.screened.ignored
        if ignored:
            counts.update({(n.kind, n.scope, (n.value or "(hidden)")[:255], "blocked")
                           for n in ignored if n.reason == "blocked value"})  # fmt: skip
    rows = [{"workspace_id": chunk.ws.id, "kind": kind, "scope": scope, "value": value,
             "reason": reason, "count": count, "last_at": chunk.now}
            for (kind, scope, value, reason), count in sorted(counts.items())]  # fmt: skip
    keys = ["workspace_id", "kind", "scope", "value", "reason"]
    upsert(chunk.bulk.session, table(Contested), rows, keys, update=["last_at"], add=["count"])


def _write_messages(chunk: _Chunk) -> None:
    bulk = chunk.bulk
    at = bulk.when(chunk.now)
    rows: Iterable[tuple[Any, ...]] = (
        (chunk.ws.id, step.row.observation.message_id, at,
         bulk.doc(answer_of(step.person, step.decision, step.row.screened)))
        for step in chunk.steps if step.row.observation.message_id
    )  # fmt: skip
    bulk.insert("messages", ["workspace_id", "message_id", "created_at", "response"], rows)
