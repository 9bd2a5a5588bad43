"""Identifiers: the operator's unbind."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import SECURITY, principal, requires
from api.schemas_ops import UnbindResultSchema, UnbindSchema
from api.state import store
from identity.services import repairs

blp = Blueprint("identifiers", __name__, url_prefix="/v1/identifiers", description="Identifiers")


@blp.route("/unbind", methods=["POST"])
@requires("admin")
@blp.arguments(UnbindSchema)
@blp.response(200, UnbindResultSchema)
@blp.doc(security=SECURITY)
def unbind(body: dict[str, Any]) -> dict[str, Any]:
    """Remove one identifier and its links from its person (409 for its last one)."""
    who = principal()
    return repairs.unbind(
        store(), who.workspace, body["identifier"], who.trigger, body.get("reason")
    )
