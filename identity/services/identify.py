"""Identify: one observation through the resolution rules into the store."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, select

from identity.errors import ConcurrentChange, DatabankError
from identity.identifiers import Identifier
from identity.ids import new_id
from identity.observation import IdentifierNote, Observation, Screened, check_traits, screen
from identity.profile import Profile
from identity.resolution import Decision, decide
from identity.services.context import WorkspaceContext, identifier_document, utcnow
from identity.services.transactions import in_transaction, lookup
from identity.store.driver import Driver, in_list, list_size, listed
from identity.store.graph import GraphRepository, Owned, PersonRow, Snapshot
from identity.store.models import Contested, Message, Suppression, table
from identity.store.profiles import ProfileRepository, channel_set
from identity.store.uow import Store, UnitOfWork
from identity.store.upsert import upsert

__all__ = [
    "answer_of",
    "apply_screened",
    "drop_suppressed",
    "history_entries",
    "history_parts",
    "identify",
    "identify_many",
    "prior_answer",
]

_m, _s = table(Message).c, table(Suppression).c
_PRIOR_ANSWER = select(_m.response).where(
    _m.workspace_id == bindparam("ws"), _m.message_id == bindparam("message_id")
)
_ANSWER_INSERT = insert(table(Message))
_SUPPRESSION_KEYS = 64  # looked up by one statement


@functools.lru_cache(maxsize=16)
def _suppressed_query(size: int) -> Select[Any]:
    return select(_s.key_hash).where(
        _s.workspace_id == bindparam("ws"), in_list(_s.key_hash, "k", size)
    )


def identify(
    store: Store, ws: WorkspaceContext, observation: Observation, trigger: str = "api"
) -> dict[str, Any]:
    """Resolve one observation to a person and fold it into the profile.

    Returns ``{person_id, outcome, merged_person_ids, demoted, ignored, rejected}``; a
    repeated ``message_id`` returns the first answer and changes nothing.
    """
    check_traits(observation.traits, ws.policy)
    screened = screen(observation.identifiers, ws.policy, ws.hasher)
    screened.refuse_if_empty()
    return in_transaction(
        store, lambda uow: _identify_once(store, uow, ws, observation, screened, trigger)
    )


def identify_many(
    store: Store, ws: WorkspaceContext, observations: Sequence[Observation], trigger: str = "api"
) -> list[dict[str, Any]]:
    """Identify observations in order; a bad one becomes an error entry, not a stop."""
    results: list[dict[str, Any]] = []
    for observation in observations:
        try:
            results.append(identify(store, ws, observation, trigger))
        except DatabankError as exc:
            results.append({"error": {"title": exc.title, "detail": exc.detail,
                                      "errors": exc.errors}})  # fmt: skip
    return results


def prior_answer(uow: UnitOfWork, ws: WorkspaceContext, message_id: str) -> dict[str, Any] | None:
    """The first answer given for ``message_id`` in the workspace, if any."""
    return _answer_to(Driver(uow.connection()), ws.id, message_id)


def _answer_to(db: Driver, workspace_id: int, message_id: str) -> dict[str, Any] | None:
    rows = db.rows(_PRIOR_ANSWER, {"ws": workspace_id, "message_id": message_id})
    return dict(rows[0][0]) if rows else None


def _identify_once(
    store: Store,
    uow: UnitOfWork,
    ws: WorkspaceContext,
    observation: Observation,
    screened: Screened,
    trigger: str,
) -> dict[str, Any]:
    # A repeated message is answered before the transaction begins, so without taking
    # SQLite's write lock. Two first deliveries that race both go on; the answer's key
    # refuses the second, whose retry then finds the first answer here.
    message_id = observation.message_id
    if message_id:
        prior = lookup(store, lambda db: _answer_to(db, ws.id, message_id))
        if prior is not None:
            return prior
    return apply_screened(uow, ws, observation, screened, trigger)


def apply_screened(
    uow: UnitOfWork,
    ws: WorkspaceContext,
    observation: Observation,
    screened: Screened,
    trigger: str,
) -> dict[str, Any]:
    """Apply one screened observation whose message id is new (the caller checked)."""
    with Driver(uow.connection()).pipelined():  # PostgreSQL: fewer round trips
        if observation.message_id:
            trigger = f"message:{observation.message_id}"
        graph = GraphRepository(uow.connection(), ws.id, uow.sqlite)
        owned = graph.owned(screened.accepted)
        # Erasure deletes the identifiers it suppresses: only unknown ones can be suppressed.
        unknown = [i for i in screened.accepted if i not in owned.owners]
        _drop_suppressed(uow, ws, screened, observation, unknown)
        snapshot, row_ids = _snapshot(graph, owned)
        decision = decide(screened.accepted, snapshot, ws.policy)
        now = utcnow()
        person_id = decision.survivor or new_id("p_")
        _fold_profile(uow, ws, graph, person_id, decision, owned.persons, observation, now)
        row_ids.update(
            graph.add_identifiers(person_id, decision.new_identifiers, observation.timestamp)
        )
        known = [row_ids[i] for i in decision.identifiers if i not in decision.new_identifiers]
        graph.touch_identifiers(known, observation.timestamp)
        head, *rest = decision.identifiers
        graph.record_links(row_ids[head], [row_ids[i] for i in rest], observation.timestamp,
                           observation.channel, observation.message_id)  # fmt: skip
        graph.record_history(history_entries(person_id, decision, now, trigger))
        _count_contested(uow, ws, decision, now)
        _count_blocked(uow, ws, screened, now)
        response = answer_of(person_id, decision, screened)
        if observation.message_id:
            Driver(uow.connection()).run(
                _ANSWER_INSERT, {"workspace_id": ws.id, "message_id": observation.message_id,
                                 "response": response, "created_at": now},
            )  # fmt: skip
        return response


def _drop_suppressed(
    uow: UnitOfWork,
    ws: WorkspaceContext,
    screened: Screened,
    observation: Observation,
    candidates: list[Identifier],
) -> None:
    """Erased identifiers among ``candidates`` come back as ``ignored`` with reason
    ``suppressed``."""
    if not candidates:
        return
    keys = {ws.suppression_key(i): i for i in candidates}
    listed_keys, hits = list(keys), set[str]()
    for start in range(0, len(listed_keys), _SUPPRESSION_KEYS):
        chunk = listed_keys[start : start + _SUPPRESSION_KEYS]
        hits.update(
            key
            for (key,) in Driver(uow.connection()).rows(
                _suppressed_query(list_size(len(chunk))), {"ws": ws.id, **listed("k", chunk)}
            )
        )
    if hits:
        drop_suppressed(ws, screened, observation, {keys[k] for k in hits})


def drop_suppressed(
    ws: WorkspaceContext, screened: Screened, observation: Observation, gone: set[Identifier]
) -> None:
    """Move the ``gone`` (erased) identifiers from accepted to ignored; refuse the
    observation when nothing is left."""
    for identifier in gone:
        screened.accepted.remove(identifier)
        shown = None if ws.policy.kinds[identifier.kind].personal else identifier.value
        index = _index_of(identifier, observation, ws)
        screened.ignored.append(
            IdentifierNote(index, identifier.kind, identifier.scope, shown, "suppressed")
        )
    screened.ignored.sort(key=lambda note: note.index)
    screened.refuse_if_empty()


def _index_of(identifier: Identifier, observation: Observation, ws: WorkspaceContext) -> int:
    """Where a suppressed identifier was in the request (rare: only on a hit)."""
    for index, raw in enumerate(observation.identifiers):
        if screen([raw], ws.policy, ws.hasher).accepted == [identifier]:
            return index
    return -1


def _snapshot(graph: GraphRepository, owned: Owned) -> tuple[Snapshot, dict[Identifier, int]]:
    """The graph as the rules see it, from the persons read under lock (``owned``)."""
    person_ids = {person for _, person in owned.owners.values()}
    persons = owned.persons
    if len(persons) != len(person_ids) or any(p.merged_into for p in persons.values()):
        raise ConcurrentChange("a person changed while it was being read")
    members = {
        person: [identifier for _, identifier in rows] for person, rows in owned.members.items()
    }
    for identifier, (_, person) in owned.owners.items():
        if identifier not in members.get(person, ()):
            raise ConcurrentChange("an identifier moved while it was being read")
    holds = graph.holds_among(person_ids)
    owner_of = {identifier: person for identifier, (_, person) in owned.owners.items()}
    row_ids = {identifier: row_id for identifier, (row_id, _) in owned.owners.items()}
    return Snapshot(owner_of, members, persons, holds), row_ids


def _fold_profile(
    uow: UnitOfWork,
    ws: WorkspaceContext,
    graph: GraphRepository,
    person_id: str,
    decision: Decision,
    persons: dict[str, PersonRow],
    observation: Observation,
    now: datetime,
) -> None:
    """Fold the observation (and any absorbed person) into the profile of ``person_id``,
    creating the person when the decision says so.

    The person row's channel set follows its channel rows: the whole set is known after
    a merge (every channel was loaded) or for a new person; otherwise it is the stored
    set plus the observation's channel.
    """
    profiles = ProfileRepository(uow.connection(), ws.id)
    channel = observation.channel
    if decision.absorbed:
        involved = {p: persons[p].activity for p in [person_id, *decision.absorbed]}
        loaded = profiles.load(involved)
        profile = loaded[person_id]
        for absorbed in decision.absorbed:
            profile.absorb(loaded[absorbed], ws.policy)
        graph.absorb_persons(person_id, decision.absorbed, now)
        profiles.drop(decision.absorbed)
    elif decision.survivor is None:
        profile = Profile()
    else:
        profile = profiles.load(
            {person_id: persons[person_id].activity},
            list(observation.traits), list(observation.tags), [channel] if channel else [],
        )[person_id]  # fmt: skip
    profile.observe(observation, ws.policy)
    if decision.survivor is None:
        graph.create_person(person_id, now, profile.activity, channel_set(profile.channels))
    else:
        stored = persons[person_id].channel_set
        if decision.absorbed:
            stored = channel_set(profile.channels)
        elif channel and channel not in _channels_of(stored):
            stored = channel_set({*_channels_of(stored), channel})
        graph.set_profile_columns(person_id, profile.activity, stored, now)
    profiles.save(person_id, profile)


def _channels_of(stored: str | None) -> list[str]:
    return json.loads(stored) if stored else []


def history_entries(
    person_id: str, decision: Decision, now: datetime, trigger: str
) -> list[dict[str, Any]]:
    return [{"at": now, "trigger": trigger, "person_id": person, "action": action,
             "reason": reason, "details": details}
            for person, action, reason, details in history_parts(person_id, decision)]  # fmt: skip


def history_parts(person_id: str, decision: Decision) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The history entries of a decision, as ``(person_id, action, reason, details)``."""
    entries: list[tuple[str, str, str, dict[str, Any]]] = []
    if decision.outcome == "created":
        entries.append((person_id, "create", "new identifiers observed together",
                        {"identifiers": [str(i) for i in decision.identifiers]}))  # fmt: skip
    elif decision.new_identifiers:
        entries.append((person_id, "attach", "observed with identifiers of this person",
                        {"identifiers": [str(i) for i in decision.new_identifiers]}))  # fmt: skip
    for absorbed in decision.absorbed:
        reason = "an observation joined identifiers of both persons"
        entries.append((person_id, "merge", reason, {"absorbed": absorbed}))
        entries.append((absorbed, "merge", reason, {"into": person_id}))
    if decision.demoted:
        demoted = {str(i): decision.reasons[i] for i in decision.demoted}
        entries.append((person_id, "demote", "identifiers kept out to respect limits and holds",
                        {"demoted": demoted}))  # fmt: skip
    return entries


def _count_contested(
    uow: UnitOfWork, ws: WorkspaceContext, decision: Decision, now: datetime
) -> None:
    """Demoted values are junk candidates for the quality report."""
    if not decision.demoted:
        return
    rows = [
        {"workspace_id": ws.id, "kind": i.kind, "scope": i.scope, "value": i.value,
         "reason": "demoted", "count": 1, "last_at": now}
        for i in decision.demoted
    ]  # fmt: skip
    keys = ["workspace_id", "kind", "scope", "value", "reason"]
    upsert(uow.connection(), table(Contested), rows, keys, update=["last_at"], add=["count"])


def _count_blocked(
    uow: UnitOfWork, ws: WorkspaceContext, screened: Screened, now: datetime
) -> None:
    """Blocked values an observation carried are junk candidates too; a personal kind's
    value is never shown, so its hits are counted under ``(hidden)``."""
    blocked = {(n.kind, n.scope, n.value or "(hidden)")
               for n in screened.ignored if n.reason == "blocked value"}  # fmt: skip
    rows = [{"workspace_id": ws.id, "kind": kind, "scope": scope, "value": value[:255],
             "reason": "blocked", "count": 1, "last_at": now}
            for kind, scope, value in sorted(blocked)]  # fmt: skip
    keys = ["workspace_id", "kind", "scope", "value", "reason"]
    upsert(uow.connection(), table(Contested), rows, keys, update=["last_at"], add=["count"])


def answer_of(person_id: str, decision: Decision, screened: Screened) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "outcome": decision.outcome,
        "merged_person_ids": list(decision.absorbed),
        "demoted": [
            {**identifier_document(i), "reason": decision.reasons[i]} for i in decision.demoted
        ],
        "ignored": [note.as_document() for note in screened.ignored],
        "rejected": [note.as_document() for note in screened.rejected],
    }
