"""What the import engine tests compare: everything a workspace holds, with person ids
replaced by the person's identifier set so that two workspaces can be compared."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from identity.identifiers import Identifier
from identity.observation import Observation, RawIdentifier
from identity.store.models import (
    Contested,
    History,
    IdentifierRow,
    Link,
    Message,
    Person,
    PersonChannel,
    PersonTag,
    PersonTrait,
    table,
)
from tests.oracle import POOL, T0, as_raw

TRAITS = {"points": {"merge": "sum"}, "level": {"merge": "max"}, "first_app": {"merge": "first"}}
EXTRA_POOL = ("phone:not a phone", "email:nobody", "anonymous_id:guest")


def chunk_rows_observations(rng: random.Random, count: int, messages: bool) -> list[Observation]:
    """Random observations with traits, tags, channels, shuffled times and message ids
    that repeat now and then; some rows repeat the identifier objects of an earlier row."""
    pool = [*POOL, *EXTRA_POOL]
    made: list[Observation] = []
    for _ in range(count):
        if made and rng.random() < 0.4:  # a repeat, as a reader hands it out: the same
            earlier = rng.choice(made)  # identifier objects, no message id, no traits
            made.append(Observation(
                list(earlier.identifiers),
                timestamp=T0 + timedelta(minutes=rng.randint(0, 600)),
                channel=rng.choice(["app", "mini", None]),
                tags=rng.sample(["tea", "coffee", "cake"], rng.randint(0, 2)),
            ))  # fmt: skip
            continue
        picked: list[RawIdentifier] = as_raw(rng.sample(pool, rng.randint(1, 4)))
        traits: dict[str, Any] = {}
        if rng.random() < 0.5:
            traits["points"] = rng.randint(1, 5)
        if rng.random() < 0.3:
            traits["level"] = rng.choice(["gold", "silver", 3])
        if rng.random() < 0.3:
            traits["membership_level"] = rng.choice(["a", "b"])
        if rng.random() < 0.2:
            traits["first_app"] = rng.choice(["x", "y"])
        if rng.random() < 0.05:
            traits["points"] = "bad"  # a sum trait needs a number: the row is rejected
        made.append(
            Observation(
                picked,
                timestamp=T0 + timedelta(minutes=rng.randint(0, 600)),
                message_id=f"m{rng.randint(0, count)}" if messages and rng.random() < 0.4 else None,
                channel=rng.choice(["app", "mini", None]),
                traits=traits,
                tags=rng.sample(["tea", "coffee", "cake"], rng.randint(0, 2)),
            )
        )
    return made


def snapshot(engine: Engine, workspace_id: int) -> dict[str, Any]:
    """Everything identify writes, keyed by identifier sets instead of person ids."""
    with engine.connect() as c:
        i = table(IdentifierRow).c
        rows = c.execute(
            select(i.id, i.person_id, i.kind, i.scope, i.value, i.first_seen, i.last_seen).where(
                i.workspace_id == workspace_id
            )
        ).all()
        members: dict[str, set[Identifier]] = {}
        by_row: dict[int, Identifier] = {}
        seen = {}
        for row_id, person, kind, scope, value, first, last in rows:
            identifier = Identifier(kind, scope, value)
            members.setdefault(person, set()).add(identifier)
            by_row[row_id] = identifier
            seen[identifier] = (first, last)
        name = {p: frozenset(m) for p, m in members.items()}
        p = table(Person).c
        persons = c.execute(
            select(p.id, p.merged_into, p.activity).where(p.workspace_id == workspace_id)
        ).all()
        live = {pid: name.get(pid) for pid, into, _ in persons if into is None}
        assert None not in live.values(), "a live person has no identifier"
        aliases = Counter(name[into] for _, into, _ in persons if into is not None)
        profiles: dict[frozenset[Identifier], dict[str, Any]] = {
            name[pid]: {"activity": act, "traits": {}, "tags": {}, "channels": {}}
            for pid, into, act in persons
            if into is None
        }
        tr = table(PersonTrait).c
        for pid, key, value, at, source in c.execute(
            select(tr.person_id, tr.name, tr.value, tr.updated_at, tr.source).where(
                tr.workspace_id == workspace_id
            )
        ):
            profiles[name[pid]]["traits"][key] = (value, at, source)
        for model, column, target in ((PersonTag, "tag", "tags"),
                                      (PersonChannel, "channel", "channels")):  # fmt: skip
            t = table(model).c
            for pid, key, first, last, count in c.execute(
                select(t.person_id, t[column], t.first_seen, t.last_seen, t.count).where(
                    t.workspace_id == workspace_id
                )
            ):
                profiles[name[pid]][target][key] = (first, last, count)
        ln = table(Link).c
        links = {
            (by_row[s], by_row[t]): (first, last, count, tuple(channels), mid)
            for s, t, first, last, count, channels, mid in c.execute(
                select(ln.source_id, ln.target_id, ln.first_seen, ln.last_seen, ln.count,
                       ln.channels, ln.first_message_id).where(ln.workspace_id == workspace_id)
            )
        }  # fmt: skip
        h = table(History).c
        history = Counter(
            (action, trigger, reason)
            for action, trigger, reason in c.execute(
                select(h.action, h.trigger, h.reason).where(h.workspace_id == workspace_id)
            )
        )
        ct = table(Contested).c
        contested = {
            (kind, scope, value, reason): count
            for kind, scope, value, reason, count in c.execute(
                select(ct.kind, ct.scope, ct.value, ct.reason, ct.count).where(
                    ct.workspace_id == workspace_id
                )
            )
        }
        m = table(Message).c
        messages = {
            message_id: _answer_shape(response, name)
            for message_id, response in c.execute(
                select(m.message_id, m.response).where(m.workspace_id == workspace_id)
            )
        }
    return {"partition": set(name.values()), "seen": seen, "aliases": aliases,
            "profiles": profiles, "links": links, "history": history,
            "contested": contested, "messages": messages}  # fmt: skip


def _answer_shape(response: dict[str, Any], name: dict[str, frozenset[Identifier]]) -> Any:
    """An answer without its person ids (the person may have been absorbed since)."""
    shown = (str(response[key]) for key in ("demoted", "ignored", "rejected"))
    return (response["outcome"], len(response["merged_person_ids"]), *shown)
