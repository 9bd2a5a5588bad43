"""Persons: the data bank profile, audience search and export."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context
from flask_smorest import Blueprint
from marshmallow import RAISE

from api.audience_schemas import ExportQuerySchema, PersonPageSchema, SearchQuerySchema
from api.auth import SECURITY, principal, requires
from api.exports import csv_lines, jsonl_lines
from api.schemas import PersonQuerySchema, PersonSchema
from api.state import store
from identity.audience import Audience
from identity.services import audience as audience_service
from identity.services import persons as person_service

blp = Blueprint("persons", __name__, url_prefix="/v1/persons", description="Persons")

_MEDIA = {"csv": "text/csv", "jsonl": "application/jsonl"}


@blp.route("", methods=["GET"])
@requires("read")
@blp.arguments(SearchQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@blp.response(200, PersonPageSchema)
@blp.doc(security=SECURITY)
def search_persons(audience: Audience, limit: int, cursor: str | None = None) -> dict[str, Any]:
    """Audience search: persons with every named tag, trait value and channel (AND), in
    person-id order; follow ``next_cursor`` for the next page."""
    return audience_service.search(store(), principal().workspace, audience, cursor, limit)


# Registered before "/<person_id>" so that "export" is never read as a person id.
@blp.route("/export", methods=["GET"])
@requires("read")
@blp.arguments(ExportQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@blp.doc(
    security=SECURITY,
    responses={"200": {"description": "CSV (a header, then one line per person) or JSON "
                       "Lines, streamed", "content": {m: {} for m in _MEDIA.values()}}},
)  # fmt: skip
def export_persons(audience: Audience, format: str) -> Response:
    """The whole audience, streamed for hand-off to a messaging tool."""
    rows = audience_service.export(store(), principal().workspace, audience)
    traits = [name for name, _ in audience.traits]
    lines = csv_lines(rows, traits) if format == "csv" else jsonl_lines(rows)
    filename = f"audience.{format}"
    return Response(
        stream_with_context(lines),
        mimetype=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blp.route("/<string:person_id>", methods=["GET"])
@requires("read")
@blp.arguments(PersonQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@blp.response(200, PersonSchema)
@blp.doc(security=SECURITY)
def get_person(person_id: str, include: list[str] | None = None) -> dict[str, Any]:
    """The person's profile; an absorbed (alias) id answers with the survivor's.
    ``?include=traits,tags`` returns only those parts."""
    return person_service.get_person(store(), principal().workspace, person_id, include)
