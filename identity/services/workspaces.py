"""Workspaces, API keys and policies, with the small caches that keep them off the hot
path: a key is checked against the store once per ``ttl`` seconds per process."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from identity.errors import Conflict, Forbidden, InvalidInput, Unauthenticated, WorkspaceNotFound
from identity.normalise import KeyedHasher
from identity.policy import Policy, default_policy
from identity.services.context import WorkspaceContext, utcnow
from identity.services.transactions import in_transaction, read
from identity.store.models import ApiKey, Workspace
from identity.store.uow import Store, UnitOfWork

__all__ = ["SCOPES", "Principal", "Workspaces"]

SCOPES = ("ingest", "read", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key of one workspace with its scopes."""

    workspace: WorkspaceContext
    scopes: frozenset[str]
    key_prefix: str

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope")

    @property
    def trigger(self) -> str:
        return f"key:{self.key_prefix}"


class Workspaces:
    """Workspace administration and key checks for one process."""

    def __init__(self, store: Store, hasher: KeyedHasher, ttl: float = 5.0) -> None:
        self.store = store
        self.hasher = hasher
        self.ttl = ttl
        self._keys: dict[str, tuple[float, int, frozenset[str], str]] = {}
        self._contexts: dict[int, tuple[float, WorkspaceContext]] = {}
        self._lock = threading.Lock()

    # -- administration -----------------------------------------------------------------
    def create(self, name: str) -> int:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput("invalid workspace name", {"name": "1-100 characters"})

        def work(uow: UnitOfWork) -> int:
            now = utcnow()
            workspace = Workspace(name=name, policy=None, created_at=now, updated_at=now)
            uow.session.add(workspace)
            uow.session.flush()
            return workspace.id

        try:
            with self.store.unit_of_work() as uow:
                workspace_id = work(uow)
                uow.commit()
                return workspace_id
        except IntegrityError:
            raise Conflict(f"workspace {name!r} exists already") from None

    def create_key(self, workspace_name: str, scopes: Collection[str]) -> str:
        """A new API key; only its hash is stored, so this is the one time it is seen."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise InvalidInput("invalid scopes", {"scopes": f"choose from {', '.join(SCOPES)}"})
        prefix = secrets.token_hex(4)
        key = f"dbk_{prefix}_{secrets.token_urlsafe(32)}"

        def work(uow: UnitOfWork) -> None:
            workspace_id = self._workspace_id(uow, workspace_name)
            uow.session.add(ApiKey(workspace_id=workspace_id, key_hash=_digest(key),
                                   prefix=prefix, scopes=",".join(sorted(set(scopes))),
                                   created_at=utcnow()))  # fmt: skip

        in_transaction(self.store, work)
        return key

    def context_by_name(self, name: str) -> WorkspaceContext:
        workspace_id = read(self.store, lambda uow: self._workspace_id(uow, name))
        return self.context(workspace_id)

    # -- authentication -----------------------------------------------------------------
    def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise Unauthenticated("an API key is required: Authorization: Bearer <key>")
        digest = _digest(key)
        now = time.monotonic()
        cached = self._keys.get(digest)
        if cached is None or cached[0] < now:
            cached = self._load_key(digest, now)
        _, workspace_id, scopes, prefix = cached
        return Principal(self.context(workspace_id), scopes, prefix)

    def _load_key(self, digest: str, now: float) -> tuple[float, int, frozenset[str], str]:
        def work(uow: UnitOfWork) -> Any:
            return uow.session.execute(
                select(ApiKey.workspace_id, ApiKey.scopes, ApiKey.prefix).where(
                    ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
                )
            ).first()

        row = read(self.store, work)
        if row is None:
            raise Unauthenticated("the API key is not valid")
        entry = (now + self.ttl, row.workspace_id, frozenset(row.scopes.split(",")), row.prefix)
        with self._lock:
            self._keys[digest] = entry
        return entry

    # -- policies -----------------------------------------------------------------------
    def context(self, workspace_id: int) -> WorkspaceContext:
        now = time.monotonic()
        cached = self._contexts.get(workspace_id)
        if cached is not None and cached[0] >= now:
            return cached[1]
        workspace = read(
            self.store,
            lambda uow: uow.session.execute(
                select(Workspace.id, Workspace.name, Workspace.policy).where(
                    Workspace.id == workspace_id
                )
            ).first(),
        )
        if workspace is None:
            raise WorkspaceNotFound(f"no workspace {workspace_id}")
        policy = Policy.from_document(workspace.policy) if workspace.policy else default_policy()
        context = WorkspaceContext(workspace.id, workspace.name, policy, self.hasher)
        with self._lock:
            self._contexts[workspace_id] = (now + self.ttl, context)
        return context

    def put_policy(self, workspace_id: int, document: dict[str, Any]) -> Policy:
        """Validate the whole document (every problem at once) and store it."""
        policy = Policy.from_document(document)

        def work(uow: UnitOfWork) -> None:
            workspace = uow.session.get(Workspace, workspace_id)
            if workspace is None:
                raise WorkspaceNotFound(f"no workspace {workspace_id}")
            workspace.policy = policy.as_document()
            workspace.updated_at = utcnow()

        in_transaction(self.store, work)
        with self._lock:
            self._contexts.pop(workspace_id, None)
        return policy

    @staticmethod
    def _workspace_id(uow: UnitOfWork, name: str) -> int:
        found = uow.session.execute(select(Workspace.id).where(Workspace.name == name)).scalar()
        if found is None:
            raise WorkspaceNotFound(f"no workspace named {name!r}")
        return found


def _digest(key: str) -> str:
    # Keys are long random strings, so a plain SHA-256 is enough to store them safely.
    return hashlib.sha256(key.encode()).hexdigest()
