"""A person's identity graph and the operator's repairs of it."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import SECURITY, principal, requires
from api.schemas_ops import (
    EraseQuerySchema,
    ErasureSchema,
    ExplainSchema,
    ExplanationSchema,
    GraphQuerySchema,
    GraphSchema,
    HistoryQuerySchema,
    HistorySchema,
    MergeResultSchema,
    MergeSchema,
    SplitResultSchema,
    SplitSchema,
)
from api.state import store
from identity.services import erasure, graph_ops, repairs

blp = Blueprint(
    "person_ops", __name__, url_prefix="/v1/persons", description="Identity graph and repairs"
)


@blp.route("/<string:person_id>/graph", methods=["GET"])
@requires("read")
@blp.arguments(GraphQuerySchema, location="query", unknown=RAISE)
@blp.response(200, GraphSchema)
@blp.doc(security=SECURITY)
def graph(query: dict[str, Any], person_id: str) -> dict[str, Any]:
    """The person's identifiers (nodes) and links with their evidence (edges), at most
    ``limit`` nodes, strongest first; ``truncated`` says whether some were left out."""
    return graph_ops.person_graph(store(), principal().workspace, person_id, query["limit"])


@blp.route("/<string:person_id>/explain", methods=["POST"])
@requires("read")
@blp.arguments(ExplainSchema)
@blp.response(200, ExplanationSchema)
@blp.doc(security=SECURITY)
def explain(body: dict[str, Any], person_id: str) -> dict[str, Any]:
    """The chain of links joining two identifiers of the person (404 when one is not
    the person's; 422 when one is invalid or no chain joins them)."""
    return graph_ops.explain(
        store(), principal().workspace, person_id, body["source"], body["target"]
    )


@blp.route("/<string:person_id>/history", methods=["GET"])
@requires("read")
@blp.arguments(HistoryQuerySchema, location="query", unknown=RAISE)
@blp.response(200, HistorySchema)
@blp.doc(security=SECURITY)
def history(query: dict[str, Any], person_id: str) -> dict[str, Any]:
    """What happened to the person and its aliases, newest first; pass ``next_cursor``
    back as ``cursor`` for the next page."""
    return graph_ops.history(
        store(), principal().workspace, person_id, query["limit"], query.get("cursor")
    )


@blp.route("/<string:person_id>/split", methods=["POST"])
@requires("admin")
@blp.arguments(SplitSchema)
@blp.response(200, SplitResultSchema)
@blp.doc(security=SECURITY)
def split(body: dict[str, Any], person_id: str) -> dict[str, Any]:
    """Move identifiers to a new person, cut the links between the two and hold them
    apart; the new person starts with an empty profile."""
    who = principal()
    return repairs.split(
        store(), who.workspace, person_id, body["identifiers"], who.trigger, body.get("reason")
    )


@blp.route("/merge", methods=["POST"])
@requires("admin")
@blp.arguments(MergeSchema)
@blp.response(200, MergeResultSchema)
@blp.doc(security=SECURITY)
def merge(body: dict[str, Any]) -> dict[str, Any]:
    """Join persons into the oldest (409 naming the broken limits unless ``force``);
    lifts any hold between them."""
    who = principal()
    return repairs.merge(
        store(), who.workspace, body["person_ids"], body["force"], who.trigger, body.get("reason")
    )


@blp.route("/<string:person_id>", methods=["DELETE"])
@requires("admin")
@blp.arguments(EraseQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ErasureSchema)
@blp.doc(security=SECURITY)
def erase(query: dict[str, Any], person_id: str) -> dict[str, Any]:
    """Erase the person (``dry_run=true`` only reports); an alias id is refused (409)
    unless ``follow_alias=true``."""
    who = principal()
    return erasure.erase(
        store(), who.workspace, person_id, who.trigger,
        dry_run=query["dry_run"], follow_alias=query["follow_alias"], reason=query.get("reason"),
    )  # fmt: skip
