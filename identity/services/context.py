"""What a use case knows about the workspace it works in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from identity.identifiers import Identifier
from identity.normalise import KeyedHasher
from identity.policy import Policy

__all__ = ["WorkspaceContext", "identifier_document", "utcnow"]


@dataclass(frozen=True)
class WorkspaceContext:
    id: int
    name: str
    policy: Policy
    hasher: KeyedHasher

    def suppression_key(self, identifier: Identifier) -> str:
        return self.hasher.hash(f"suppress:{identifier}")


def identifier_document(identifier: Identifier) -> dict[str, Any]:
    """The API shape of an identifier: ``scope`` only when the kind has one."""
    document = {"kind": identifier.kind, "value": identifier.value}
    if identifier.scope:
        document["scope"] = identifier.scope
    return document


def utcnow() -> datetime:
    return datetime.now(UTC)
