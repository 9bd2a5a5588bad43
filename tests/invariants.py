"""The invariant checker: what must hold of any Databank database, whatever ran on it.

- every identifier belongs to a live person (``merged_into IS NULL``) of its workspace;
- every alias points straight at a live person;
- no live person has more values of a ``(kind, scope)`` than the policy's limit;
- every link joins two identifiers of one person, in the link's workspace;
- profile rows (traits, tags, channels) belong only to live persons;
- each live person's ``channel_set`` is the sorted set of its channel rows.

``violations(engine)`` lists what is broken; ``assert_invariants(engine)`` fails with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from identity.identifiers import Identifier
from identity.policy import Policy, default_policy
from identity.store.models import (
    IdentifierRow,
    Link,
    Person,
    PersonChannel,
    PersonTag,
    PersonTrait,
    Workspace,
)
from identity.store.profiles import channel_set

__all__ = ["assert_invariants", "stored_partition", "violations"]


def violations(engine: Engine) -> list[str]:
    """Every broken invariant, as one line each (empty when all hold)."""
    with engine.connect() as connection:
        return [
            *_identifiers_of_dead_persons(connection),
            *_aliases_not_live(connection),
            *_limits_broken(connection),
            *_links_across_persons(connection),
            *_profiles_of_dead_persons(connection),
            *_channel_sets_out_of_step(connection),
        ]


def assert_invariants(engine: Engine) -> None:
    found = violations(engine)
    assert not found, "invariants broken:\n" + "\n".join(found[:50])


def stored_partition(engine: Engine, workspace_id: int) -> set[frozenset[Identifier]]:
    """The persons of a workspace as sets of identifiers, comparable with the
    reference's ``partition()``."""
    i = IdentifierRow.__table__.c
    members: dict[str, set[Identifier]] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(i.person_id, i.kind, i.scope, i.value).where(i.workspace_id == workspace_id)
        )
        for person_id, kind, scope, value in rows:
            members.setdefault(person_id, set()).add(Identifier(kind, scope, value))
    return {frozenset(m) for m in members.values()}


def _identifiers_of_dead_persons(connection: Connection) -> Iterator[str]:
    i, p = IdentifierRow.__table__.c, Person.__table__.c
    rows = connection.execute(
        select(i.kind, i.scope, i.value, i.person_id, p.merged_into, p.workspace_id, i.workspace_id)
        .select_from(IdentifierRow.__table__.outerjoin(Person.__table__, p.id == i.person_id))
        .where((p.id.is_(None)) | (p.merged_into.is_not(None)) | (p.workspace_id != i.workspace_id))
    )
    for kind, scope, value, person, merged_into, p_ws, i_ws in rows:
        yield (
            f"identifier {kind}@{scope}:{value} belongs to {person}, which is not a live "
            f"person of its workspace (merged_into={merged_into}, workspaces {p_ws}/{i_ws})"
        )


def _aliases_not_live(connection: Connection) -> Iterator[str]:
    alias = Person.__table__.alias("alias")
    target = Person.__table__.alias("target")
    rows = connection.execute(
        select(alias.c.id, alias.c.merged_into, target.c.merged_into, target.c.workspace_id)
        .select_from(alias.outerjoin(target, target.c.id == alias.c.merged_into))
        .where(
            alias.c.merged_into.is_not(None),
            (target.c.id.is_(None))
            | (target.c.merged_into.is_not(None))
            | (target.c.workspace_id != alias.c.workspace_id),
        )
    )
    for person, into, onward, _ in rows:
        yield f"alias {person} points at {into}, which is not live (merged into {onward})"


def _limits_broken(connection: Connection) -> Iterator[str]:
    w = Workspace.__table__.c
    policies = {
        ws_id: Policy.from_document(doc) if doc else default_policy()
        for ws_id, doc in connection.execute(select(w.id, w.policy))
    }
    i = IdentifierRow.__table__.c
    counts: Counter[tuple[int, str, str, str]] = Counter(
        (ws_id, person, kind, scope)
        for ws_id, person, kind, scope in connection.execute(
            select(i.workspace_id, i.person_id, i.kind, i.scope)
        )
    )
    for (ws_id, person, kind, scope), count in sorted(counts.items()):
        rule = policies[ws_id].kinds.get(kind)
        if rule is not None and count > rule.limit:
            yield f"person {person} has {count} {kind}@{scope} (limit {rule.limit})"


def _links_across_persons(connection: Connection) -> Iterator[str]:
    source = IdentifierRow.__table__.alias("source")
    target = IdentifierRow.__table__.alias("target")
    link = Link.__table__.c
    rows = connection.execute(
        select(link.id, source.c.person_id, target.c.person_id)
        .select_from(
            Link.__table__.join(source, source.c.id == link.source_id).join(
                target, target.c.id == link.target_id
            )
        )
        .where(
            (source.c.person_id != target.c.person_id)
            | (source.c.workspace_id != link.workspace_id)
            | (target.c.workspace_id != link.workspace_id)
        )
    )
    for link_id, a, b in rows:
        yield f"link {link_id} joins identifiers of {a} and {b}"


def _profiles_of_dead_persons(connection: Connection) -> Iterator[str]:
    p = Person.__table__.c
    for model in (PersonTrait, PersonTag, PersonChannel):
        c = model.__table__.c
        rows = connection.execute(
            select(c.person_id)
            .select_from(model.__table__.join(Person.__table__, p.id == c.person_id))
            .where(p.merged_into.is_not(None))
            .distinct()
        )
        for (person,) in rows:
            yield f"{model.__tablename__} has rows of the absorbed person {person}"


def _channel_sets_out_of_step(connection: Connection) -> Iterator[str]:
    p, c = Person.__table__.c, PersonChannel.__table__.c
    stored = dict(
        connection.execute(select(p.id, p.channel_set).where(p.merged_into.is_(None))).all()
    )
    channels: dict[str, list[str]] = {}
    for person, channel in connection.execute(select(c.person_id, c.channel)):
        channels.setdefault(person, []).append(channel)
    for person, value in stored.items():
        if value != channel_set(channels.get(person, [])):
            yield f"person {person} has channel_set {value}, not {channels.get(person)}"
