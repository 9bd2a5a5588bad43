"""Liveness, readiness, the OpenAPI document and the offline docs page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api import create_app
from identity.settings import Settings
from identity.store import schema
from tests.api.helpers import assert_problem
from tests.oracle import SECRET


def test_healthz_is_200_without_a_key(client):
    response = client.get("/healthz")

    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_is_200_when_the_schema_is_current(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "schema": schema.head_revision()}


@pytest.fixture
def app_on(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``app_on(url)``: an app over any database URL, disposed afterwards."""
    made = []

    def make(url: str):  # type: ignore[no-untyped-def]
        app = create_app(Settings(url, SECRET, tmp_path / "var"), TESTING=True)
        made.append(app)
        return app.test_client()

    yield make
    for app in made:
        app.extensions["databank"].store.engine.dispose()


def test_readyz_is_503_when_the_schema_is_not_current(app_on, tmp_path):
    client = app_on(f"sqlite:///{tmp_path / 'empty.sqlite'}")

    response = client.get("/readyz")

    problem = assert_problem(response, 503)
    assert "databank db upgrade" in problem["detail"]
    assert response.headers["Retry-After"]
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable(app_on, tmp_path):
    client = app_on(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'db.sqlite'}")

    response = client.get("/readyz")

    assert_problem(response, 503)
    assert response.headers["Retry-After"]


def test_the_openapi_document_describes_every_route(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert {"/v1/identify", "/v1/identify/batch", "/v1/resolve", "/v1/persons/{person_id}",
            "/v1/policy"} <= set(document["paths"])  # fmt: skip
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_the_docs_page_uses_only_local_assets_and_they_are_served(client):
    response = client.get("/docs")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the page loads no assets?"
    assert all(a.startswith("/docs/static/") for a in assets), assets
    assert "http://" not in page and "https://" not in page
    assert '"/openapi.json"' in page
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.data) > 1000
        served.close()


def test_an_unknown_docs_asset_is_404(client):
    assert client.get("/docs/static/nothing.js").status_code == 404
