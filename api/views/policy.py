"""The workspace policy."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import SECURITY, principal, requires, workspaces
from api.schemas import PolicySchema

blp = Blueprint("policy", __name__, url_prefix="/v1/policy", description="Workspace policy")


@blp.route("", methods=["GET"])
@requires("read")
@blp.response(200, PolicySchema)
@blp.doc(security=SECURITY)
def get_policy() -> dict[str, Any]:
    """The effective policy, defaults included."""
    return principal().workspace.policy.as_document()


@blp.route("", methods=["PUT"])
@requires("admin")
@blp.arguments(PolicySchema)
@blp.response(200, PolicySchema)
@blp.doc(security=SECURITY)
def put_policy(document: dict[str, Any]) -> dict[str, Any]:
    """Replace the policy; sections left out take the defaults. Every problem is
    reported at once."""
    return workspaces().put_policy(principal().workspace.id, document).as_document()
