"""Fixtures: real SQLite files and a real PostgreSQL database, never mocks.

PostgreSQL comes from ``DATABANK_TEST_POSTGRES_URL`` (default: the local server). Each
test session makes its own database and drops it at the end. Without a server the
PostgreSQL tests are skipped with a notice, unless ``DATABANK_REQUIRE_POSTGRES=1`` (as in
``.ci/run``), which makes them fail instead.

Hypothesis explores new examples on every run; ``HYPOTHESIS_PROFILE=ci`` (set by
``.ci/run``) fixes them instead, so that CI answers the same for the same code.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import create_app
from identity.errors import Conflict
from identity.normalise import KeyedHasher
from identity.services.context import WorkspaceContext
from identity.services.workspaces import Workspaces
from identity.settings import Settings
from identity.store import schema
from identity.store.database import create_store_engine
from identity.store.models import Base
from identity.store.uow import Store

SECRET = b"test-secret-0123456789abcdef"
POSTGRES_URL = os.environ.get(
    "DATABANK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_postgres_problem: list[str] = []

hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"databank_test_{secrets.token_hex(4)}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: skip or fail, loudly either way
        message = f"PostgreSQL unavailable at {admin_url.render_as_string()}: {exc}"
        if os.environ.get("DATABANK_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        _postgres_problem.append(message)
        pytest.skip(message)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    schema.upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "databank.sqlite"
    schema.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "databank.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate(url)
    return url


def _truncate(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = create_store_engine(database_url)
    yield Store(engine)
    engine.dispose()


@pytest.fixture
def workspaces(store: Store) -> Workspaces:
    return Workspaces(store, KeyedHasher(SECRET), ttl=0)


@pytest.fixture
def ws(workspaces: Workspaces) -> WorkspaceContext:
    """A workspace with the default policy."""
    return workspaces.context(workspaces.create("acme"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET, var_dir=tmp_path / "var")


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    app = create_app(settings, TESTING=True)
    yield app
    app.extensions["databank"].store.engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def make_key(app) -> Callable[..., dict[str, str]]:  # type: ignore[no-untyped-def]
    """``make_key("ingest", "read", workspace="acme")`` -> Authorization headers."""
    ws = app.extensions["databank"].workspaces

    def make(*scopes: str, workspace: str = "acme") -> dict[str, str]:
        with contextlib.suppress(Conflict):
            ws.create(workspace)
        return {"Authorization": f"Bearer {ws.create_key(workspace, scopes)}"}

    return make


@pytest.fixture
def auth(make_key: Callable[..., dict[str, str]]) -> dict[str, str]:
    """Headers of a key with every scope in workspace ``acme``."""
    return make_key("ingest", "read", "admin")


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _postgres_problem:
        terminalreporter.write_sep("!", "PostgreSQL tests were SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(_postgres_problem[0])
