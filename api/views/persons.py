"""Persons: the data bank profile."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import SECURITY, principal, requires
from api.schemas import PersonQuerySchema, PersonSchema
from api.state import store
from identity.services import persons as person_service

blp = Blueprint("persons", __name__, url_prefix="/v1/persons", description="Persons")


@blp.route("/<string:person_id>", methods=["GET"])
@requires("read")
@blp.arguments(PersonQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@blp.response(200, PersonSchema)
@blp.doc(security=SECURITY)
def get_person(person_id: str, include: list[str] | None = None) -> dict[str, Any]:
    """The person's profile; an absorbed (alias) id answers with the survivor's.
    ``?include=traits,tags`` returns only those parts."""
    return person_service.get_person(store(), principal().workspace, person_id, include)
