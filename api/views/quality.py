"""Insights: the quality report of the identity graph."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import SECURITY, principal, requires
from api.schemas_ops import QualityQuerySchema, QualitySchema
from api.state import store
from identity.services import quality as quality_service

blp = Blueprint("quality", __name__, url_prefix="/v1/insights", description="Graph quality")


@blp.route("/quality", methods=["GET"])
@requires("read")
@blp.arguments(QualityQuerySchema, location="query", unknown=RAISE)
@blp.response(200, QualitySchema)
@blp.doc(security=SECURITY)
def quality(query: dict[str, Any]) -> dict[str, Any]:
    """Person sizes, the largest persons, junk candidates, demotions by kind and the
    persons whose graph hangs on one identifier."""
    return quality_service.quality(store(), principal().workspace, query["top"], query["scan"])
