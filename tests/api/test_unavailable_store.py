"""When the store cannot be reached every view answers 503 with Retry-After, never 500."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from api import create_app
from identity.settings import Settings
from identity.store import schema
from tests.api.helpers import assert_problem, ids
from tests.oracle import SECRET

BODY = {"identifiers": ids("member_id:M")}
REQUESTS = [
    ("post", "/v1/identify", BODY),
    ("post", "/v1/identify/batch", {"observations": [BODY]}),
    ("post", "/v1/resolve", BODY),
    ("get", "/v1/persons/p_X", None),
    ("get", "/v1/policy", None),
    ("put", "/v1/policy", {}),
]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


@pytest.fixture(params=["postgres-port-without-server", "sqlite-in-missing-directory"])
def unreachable(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param.startswith("postgres"):
        url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/databank"
    else:
        url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'db.sqlite'}"
    app = create_app(Settings(url, SECRET, tmp_path / "var"), TESTING=True)
    yield app.test_client()
    app.extensions["databank"].store.engine.dispose()


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_every_view_answers_503_with_retry_after_when_the_store_is_unreachable(
    unreachable, method, path, body
):
    headers = {"Authorization": "Bearer dbk_00000000_whatever"}

    response = getattr(unreachable, method)(path, json=body, headers=headers)

    problem = assert_problem(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert "postgres" not in problem["detail"] and "sqlite" not in problem["detail"]


def test_a_store_lost_after_authentication_answers_503_too(tmp_path):
    path = tmp_path / "db.sqlite"
    schema.upgrade(f"sqlite:///{path}")
    app = create_app(Settings(f"sqlite:///{path}", SECRET, tmp_path / "var"), TESTING=True)
    workspaces = app.extensions["databank"].workspaces
    workspaces.create("acme")
    headers = {"Authorization": f"Bearer {workspaces.create_key('acme', ['ingest', 'read'])}"}
    client = app.test_client()
    person = client.post("/v1/identify", json=BODY, headers=headers).get_json()["person_id"]
    # The key is now cached; take the database away under the app.
    app.extensions["databank"].store.engine.dispose()
    for leftover in tmp_path.glob("db.sqlite*"):
        leftover.unlink()
    path.mkdir()  # a directory where the file was: SQLite cannot open it

    try:
        for response in (
            client.post("/v1/identify", json=BODY, headers=headers),
            client.post("/v1/resolve", json=BODY, headers=headers),
            client.get(f"/v1/persons/{person}", headers=headers),
        ):
            assert_problem(response, 503)
            assert response.headers["Retry-After"] == "1"
    finally:
        app.extensions["databank"].store.engine.dispose()
        shutil.rmtree(path)
