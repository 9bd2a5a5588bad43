"""The one exception root of the domain; ``api.errors`` maps each class to a status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AliasErasure",
    "ConcurrentChange",
    "Conflict",
    "DatabankError",
    "Forbidden",
    "IdentifierNotFound",
    "ImportNotFound",
    "InvalidInput",
    "LimitsBroken",
    "NotFound",
    "ObservationRefused",
    "PersonNotFound",
    "PolicyInvalid",
    "StoreUnavailable",
    "Unauthenticated",
    "WorkspaceNotFound",
]


class DatabankError(Exception):
    """Root of every error the domain raises on purpose.

    ``errors`` maps a field path (``identifiers.2``, ``kinds.phone.limit``) to what was
    wrong with it; it never holds a raw phone number or email.
    """

    title = "Databank error"

    def __init__(self, detail: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors or {})


class InvalidInput(DatabankError):
    title = "Invalid input"


class ObservationRefused(InvalidInput):
    title = "Observation refused"


class PolicyInvalid(InvalidInput):
    title = "Policy invalid"


class NotFound(DatabankError):
    title = "Not found"


class PersonNotFound(NotFound):
    title = "Person not found"


class IdentifierNotFound(NotFound):
    title = "Identifier not found"


class WorkspaceNotFound(NotFound):
    title = "Workspace not found"


class ImportNotFound(NotFound):
    title = "Import not found"


class Conflict(DatabankError):
    title = "Conflict"


class Unauthenticated(DatabankError):
    title = "Unauthenticated"


class Forbidden(DatabankError):
    title = "Forbidden"


class StoreUnavailable(DatabankError):
    title = "Store unavailable"


class ConcurrentChange(DatabankError):
    """Another transaction changed what this one read; the caller retries."""

    title = "Concurrent change"


class LimitsBroken(Conflict):
    """A merge would break identifier limits; ``errors`` names each broken limit."""

    title = "Limits broken"


class AliasErasure(Conflict):
    """An erasure named an alias id without asking to follow it to its survivor."""

    title = "Alias erasure"
