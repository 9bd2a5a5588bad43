"""Insights: how the audiences of channels overlap."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE

from api.audience_schemas import OverlapQuerySchema, OverlapSchema
from api.auth import SECURITY, principal, requires
from api.state import store
from identity.services import audience as audience_service

blp = Blueprint("insights", __name__, url_prefix="/v1/insights", description="Insights")


@blp.route("/overlap", methods=["GET"])
@requires("read")
@blp.arguments(OverlapQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@blp.response(200, OverlapSchema)
@blp.doc(security=SECURITY)
def get_overlap(channels: list[str]) -> dict[str, Any]:
    """Live persons per exact combination of the named channels and per channel:
    ``?channels=app,wechat_mp,alipay_mp``."""
    return audience_service.overlap(store(), principal().workspace, channels)
