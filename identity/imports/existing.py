"""What the store already holds about a chunk's identifiers, read in a few big queries
over temporary tables: their rows and owners, those owners (locked on PostgreSQL), how
many identifiers of each ``(kind, scope)`` each owner has, the holds they are part of,
and, for the owners whose rows need the full rules, all their identifiers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, select, text

from identity.errors import ConcurrentChange
from identity.identifiers import Identifier
from identity.imports.bulk import Bulk
from identity.imports.screening import Catalogue
from identity.store.graph import PersonRow
from identity.store.models import IdentifierRow, UTCDateTime, table

__all__ = ["Existing", "load_existing", "load_members"]


@dataclass
class Existing:
    row_id: dict[int, int] = field(default_factory=dict)  # code -> identifiers.id
    owner: dict[int, str] = field(default_factory=dict)  # code -> person id
    # first and last seen as the columns hold them (compare with ``Bulk.when`` values)
    seen: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    persons: dict[str, PersonRow] = field(default_factory=dict)
    counts: list[tuple[str, str, str, int]] = field(default_factory=list)  # person, kind, scope
    holds: set[tuple[str, str]] = field(default_factory=set)  # every hold of those persons
    members: dict[str, set[Identifier]] = field(default_factory=lambda: defaultdict(set))


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
    if not bulk.sqlite:  # the owners are locked now: were they still the owners?
        again = Existing()
        _owners(bulk, workspace_id, catalogue, again, fill=False)
        if again.owner != existing.owner:
            raise ConcurrentChange("an identifier moved while the import read it")
    return existing


def load_members(bulk: Bulk, existing: Existing, persons: Collection[str]) -> None:
    """All identifiers of ``persons`` (stored ones), for the rules to see them whole."""
    if not persons:
        return
    bulk.keys_table("import_members_of", "id VARCHAR(40)", [(p,) for p in sorted(persons)])
    members = text(
        "SELECT i.kind, i.scope, i.value, i.person_id FROM identifiers i "
        "JOIN import_members_of k ON k.id = i.person_id"
    )
    for kind, scope, value, person_id in bulk.session.execute(members).all():
        existing.members[person_id].add(Identifier(kind, scope, value))


def _owners(
    bulk: Bulk, workspace_id: int, catalogue: Catalogue, existing: Existing, fill: bool = True
) -> None:
    if fill:
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
    )
    for code, row_id, person_id, first_seen, last_seen in bulk.session.execute(
        query, {"ws": workspace_id}
    ).all():
        existing.row_id[code] = row_id
        existing.owner[code] = person_id
        existing.seen[code] = (first_seen, last_seen)


def _persons(bulk: Bulk, workspace_id: int, existing: Existing) -> None:
    """The owners (locked ``FOR UPDATE`` in id order on PostgreSQL), their counts of
    identifiers per ``(kind, scope)`` and their holds, one query each."""
    ids = sorted(set(existing.owner.values()))
    bulk.keys_table("import_persons", "id VARCHAR(40)", [(person,) for person in ids])
    lock = "" if bulk.sqlite else " FOR UPDATE OF p"
    persons = text(
        "SELECT p.id, p.created_at, p.merged_into, p.activity FROM persons p "
        f"JOIN import_persons k ON k.id = p.id WHERE p.workspace_id = :ws ORDER BY p.id{lock}"
    ).columns(created_at=UTCDateTime, activity=JSON)
    for row in bulk.session.execute(persons, {"ws": workspace_id}).all():
        existing.persons[row.id] = PersonRow(*row)
    if len(existing.persons) != len(ids) or any(r.merged_into for r in existing.persons.values()):
        raise ConcurrentChange("a person changed while the import read it")
    counts = text(
        "SELECT i.person_id, i.kind, i.scope, COUNT(*) FROM identifiers i "
        "JOIN import_persons k ON k.id = i.person_id GROUP BY i.person_id, i.kind, i.scope"
    )
    existing.counts = [tuple(row) for row in bulk.session.execute(counts).all()]
    holds = text(
        "SELECT person_a, person_b FROM holds WHERE person_a IN (SELECT id FROM import_persons) "
        "OR person_b IN (SELECT id FROM import_persons)"
    )
    existing.holds.update((a, b) for a, b in bulk.session.execute(holds).all())
