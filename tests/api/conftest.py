"""Keys of each scope for the API tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def ingest(make_key: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_key("ingest")


@pytest.fixture
def reader(make_key: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_key("read")


@pytest.fixture
def admin(make_key: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_key("admin")


@pytest.fixture
def stranger(make_key: Callable[..., dict[str, str]]) -> dict[str, str]:
    """A key with every scope, of another workspace."""
    return make_key("ingest", "read", "admin", workspace="other")
