"""The HTTP face of Databank: ``create_app`` builds a Flask app around the services."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_smorest import Api

from api.errors import PROBLEM_CONTENT_TYPE, ProblemSchema, register_error_handlers
from api.state import Databank
from api.uploads import DatabankRequest
from identity.normalise import KeyedHasher
from identity.services.workspaces import Workspaces
from identity.settings import Settings
from identity.store.database import create_store_engine
from identity.store.uow import Store

__all__ = ["create_app"]


class DatabankApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with errors left to :mod:`api.errors` and documented as the
    problem details they are."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_CONTENT_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = content_type

    def _register_error_handlers(self) -> None:
        register_error_handlers(self._app)


def create_app(settings: Settings | None = None, **config: Any) -> Flask:
    """Build the app. ``settings`` default to the environment (``DATABANK_*``)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.request_class = DatabankRequest
    app.config.update(
        API_TITLE="Databank",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/static/",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.config.update(config)
    engine = create_store_engine(settings.database_url)
    store = Store(engine)
    app.extensions["databank"] = Databank(
        store, Workspaces(store, KeyedHasher(settings.secret_key)), settings
    )
    api = DatabankApi(app, spec_kwargs={"info": {"description": _DESCRIPTION}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from api.views import health, identify, insights, persons, policy, ui_insights

    app.register_blueprint(health.blp)
    app.register_blueprint(ui_insights.bp)
    for blueprint in (identify.blp, persons.blp, policy.blp, insights.blp):
        api.register_blueprint(blueprint)
    _register_operator_kit(app, api)
    from api.views import imports

    api.register_blueprint(imports.blp)
    logging.getLogger("identity").setLevel(logging.INFO)
    return app


def _register_operator_kit(app: Flask, api: Api) -> None:
    from api.views import identifiers, person_ops, quality, ui

    for blueprint in (person_ops.blp, identifiers.blp, quality.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(ui.bp)


_DESCRIPTION = (
    "Cross-platform identity resolution: ingest identifiers seen together, resolve any "
    "identifier to one person, read the person's data bank profile. Errors are RFC 9457 "
    "problem details."
)
