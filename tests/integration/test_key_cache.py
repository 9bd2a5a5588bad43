"""A process checks a key against the store at most once per ``ttl`` seconds: a revoked
key stops working within that time, never later."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from identity.errors import Unauthenticated
from identity.normalise import KeyedHasher
from identity.services.context import utcnow
from identity.services.workspaces import Workspaces
from identity.store.models import ApiKey
from tests.conftest import SECRET

TTL = 0.3


def _revoke_all(store) -> None:  # type: ignore[no-untyped-def]
    with store.unit_of_work() as uow:
        uow.session.execute(update(ApiKey).values(revoked_at=utcnow()))
        uow.commit()


def test_a_revoked_key_stops_working_within_the_ttl(store):  # type: ignore[no-untyped-def]
    workspaces = Workspaces(store, KeyedHasher(SECRET), ttl=TTL)
    workspaces.create("w")
    key = workspaces.create_key("w", ["read"])
    assert workspaces.authenticate(key).scopes == {"read"}

    _revoke_all(store)
    revoked_at = time.monotonic()
    with pytest.raises(Unauthenticated):
        while True:  # cached meanwhile; refused once the entry is older than the ttl
            workspaces.authenticate(key)
            assert time.monotonic() - revoked_at <= TTL + 0.1, "still accepted past the ttl"
            time.sleep(0.02)


def test_without_a_ttl_a_revoked_key_stops_at_once(store):  # type: ignore[no-untyped-def]
    workspaces = Workspaces(store, KeyedHasher(SECRET), ttl=0)
    workspaces.create("w")
    key = workspaces.create_key("w", ["ingest"])
    workspaces.authenticate(key)

    _revoke_all(store)

    with pytest.raises(Unauthenticated):
        workspaces.authenticate(key)
