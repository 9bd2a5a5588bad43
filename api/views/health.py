"""Liveness and readiness; the offline API docs' static files."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, send_from_directory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from swagger_ui_bundle import swagger_ui_path
from werkzeug.wrappers import Response

from api.errors import problem
from api.state import store
from identity.store.schema import current_revision, head_revision

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@blp.get("/readyz")
def readyz() -> Response | dict[str, Any]:
    try:
        with store().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(store().engine)
    except SQLAlchemyError:
        return problem(
            503, "Not Ready", "the database is unreachable", headers={"Retry-After": "1"}
        )
    if revision != head_revision():
        return problem(503, "Not Ready", f"schema at {revision}, expected {head_revision()}; "
                       "run: databank db upgrade", headers={"Retry-After": "5"})  # fmt: skip
    return {"status": "ready", "schema": revision}


@blp.get("/docs/static/<path:filename>")
def docs_static(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
