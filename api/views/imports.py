"""Imports of channel exports: upload (202), status, rejected rows.

The HTTP process only stores the upload and queues the import; a worker runs it
(``databank serve`` starts one beside gunicorn; ``databank worker`` runs more).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import SECURITY, principal, requires
from api.schemas_imports import (
    ImportFormSchema,
    ImportStatusSchema,
    RejectPageSchema,
    RejectsQuerySchema,
)
from api.state import store
from api.uploads import accepts_upload, keep_upload, the_upload
from identity.imports.presets import build_mapping
from identity.imports.readers import format_of
from identity.services import imports as import_service

blp = Blueprint("imports", __name__, url_prefix="/v1/imports", description="Batch imports")


@blp.route("", methods=["POST"])
@requires("ingest")
@accepts_upload
@blp.arguments(ImportFormSchema, location="form", unknown=RAISE,
               content_type="multipart/form-data")  # fmt: skip
@blp.response(202, ImportStatusSchema)
@blp.doc(security=SECURITY)
def start_import(form: dict[str, Any]) -> Any:
    """Upload a channel export with its mapping (or a preset); a worker imports it.
    Poll the ``Location`` for progress. The same file and mapping again change nothing
    (the answer names the earlier import in ``duplicate_of``)."""
    upload = the_upload()
    name = upload.filename or "upload"
    format = format_of(name, form["format"])
    mapping = build_mapping(form["preset"], form["spec"])
    path = keep_upload(upload, format)
    status = import_service.start_import(store(), principal().workspace, path, name, format,
                                         mapping, form["chunk_rows"], upload=True)  # fmt: skip
    location = url_for("imports.get_import", import_id=status["import_id"])
    return status, 202, {"Location": location}


@blp.route("/<string:import_id>", methods=["GET"])
@requires("read", "ingest")
@blp.response(200, ImportStatusSchema)
@blp.doc(security=SECURITY)
def get_import(import_id: str) -> dict[str, Any]:
    """Status, rows done, counts by outcome, rows per second, started and finished."""
    return import_service.get_import(store(), principal().workspace, import_id)


@blp.route("/<string:import_id>/rejects", methods=["GET"])
@requires("read", "ingest")
@blp.arguments(RejectsQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@blp.response(200, RejectPageSchema)
@blp.doc(security=SECURITY)
def list_rejects(import_id: str, limit: int, cursor: str | None = None) -> dict[str, Any]:
    """Every rejected row, in line order, with its reason; follow ``next_cursor``."""
    return import_service.list_rejects(store(), principal().workspace, import_id, cursor, limit)
