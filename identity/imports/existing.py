"""What the store already holds about a chunk's identifiers, read in a few big queries:
their rows and owners, those owners (locked on PostgreSQL), all their identifiers and
the holds they are part of."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BigInteger, String, or_, select, text

from identity.errors import ConcurrentChange
from identity.identifiers import Identifier
from identity.imports.bulk import Bulk
from identity.imports.screening import Catalogue
from identity.store.graph import PersonRow
from identity.store.models import Hold, IdentifierRow, Person, UTCDateTime, table

__all__ = ["Existing", "load_existing"]


@dataclass
class Existing:
    row_id: dict[int, int] = field(default_factory=dict)  # code -> identifiers.id
    owner: dict[int, str] = field(default_factory=dict)  # code -> person id
    seen: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)  # first, last
    persons: dict[str, PersonRow] = field(default_factory=dict)
    members: dict[str, set[Identifier]] = field(default_factory=lambda: defaultdict(set))
    holds: set[tuple[str, str]] = field(default_factory=set)  # every hold of those persons


def load_existing(bulk: Bulk, workspace_id: int, catalogue: Catalogue) -> Existing:
    existing = Existing()
    i = table(IdentifierRow).c
    any_stored = select(i.id).where(i.workspace_id == workspace_id).limit(1)
    if not catalogue.identifiers or bulk.session.execute(any_stored).first() is None:
        return existing
    _owners(bulk, workspace_id, catalogue, existing)
    if not existing.owner:
        return existing
    _persons(bulk, workspace_id, existing)
    for code, person in existing.owner.items():
        if catalogue.identifiers[code] not in existing.members[person]:
            raise ConcurrentChange("an identifier moved while the import read it")
    return existing


def _owners(bulk: Bulk, workspace_id: int, catalogue: Catalogue, existing: Existing) -> None:
    keys = [(code, i.kind, i.scope, i.value) for code, i in enumerate(catalogue.identifiers)]
    bulk.keys_table(
        "import_keys",
        "code BIGINT, kind VARCHAR(40), scope VARCHAR(100), value VARCHAR(255)",
        keys,
    )
    query = text(
        "SELECT k.code, i.id, i.person_id, i.first_seen, i.last_seen FROM import_keys k "
        "JOIN identifiers i ON i.workspace_id = :ws AND i.kind = k.kind "
        "AND i.scope = k.scope AND i.value = k.value"
    ).columns(code=BigInteger, id=BigInteger, person_id=String, first_seen=UTCDateTime,
              last_seen=UTCDateTime)  # fmt: skip
    for code, row_id, person_id, first_seen, last_seen in bulk.session.execute(
        query, {"ws": workspace_id}
    ):
        existing.row_id[code] = row_id
        existing.owner[code] = person_id
        existing.seen[code] = (first_seen, last_seen)


def _persons(bulk: Bulk, workspace_id: int, existing: Existing) -> None:
    """The owners (locked ``FOR UPDATE`` in id order on PostgreSQL), their identifiers
    and their holds."""
    p, i, h = table(Person).c, table(IdentifierRow).c, table(Hold).c
    ids = set(existing.owner.values())

    def persons(chunk):  # type: ignore[no-untyped-def]
        query = select(p.id, p.created_at, p.merged_into, p.activity).where(
            p.workspace_id == workspace_id, p.id.in_(chunk)
        )
        return query.order_by(p.id) if bulk.sqlite else query.order_by(p.id).with_for_update()

    for row in bulk.select_in(persons, ids):
        existing.persons[row.id] = PersonRow(*row)
    if len(existing.persons) != len(ids) or any(r.merged_into for r in existing.persons.values()):
        raise ConcurrentChange("a person changed while the import read it")
    members = bulk.select_in(
        lambda chunk: select(i.kind, i.scope, i.value, i.person_id).where(i.person_id.in_(chunk)),
        ids,
    )
    for kind, scope, value, person_id in members:
        existing.members[person_id].add(Identifier(kind, scope, value))
    holds = bulk.select_in(
        lambda chunk: select(h.person_a, h.person_b).where(
            or_(h.person_a.in_(chunk), h.person_b.in_(chunk))
        ),
        ids,
    )
    existing.holds.update((a, b) for a, b in holds)
