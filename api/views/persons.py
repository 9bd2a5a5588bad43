"""Persons: the data bank profile."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import SECURITY, principal, requires
from api.schemas import PersonSchema
from api.state import store
from identity.services import persons as person_service

blp = Blueprint("persons", __name__, url_prefix="/v1/persons", description="Persons")


@blp.route("/<string:person_id>", methods=["GET"])
@requires("read")
@blp.response(200, PersonSchema)
@blp.doc(security=SECURITY)
def get_person(person_id: str) -> dict[str, Any]:
    """The person's profile; an absorbed (alias) id answers with the survivor's."""
    return person_service.get_person(store(), principal().workspace, person_id)
