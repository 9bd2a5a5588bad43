"""The page for people under ``/ui/``: look an identifier up, see the person.

The page is static HTML and a small script of our own; it calls the JSON API with the
API key the user pastes (kept in the tab's ``sessionStorage``, sent only as the
``Authorization`` header, so no cookie can be ridden by another site). The one route
made for it draws the identity graph as SVG on the server.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from api.auth import principal, requires
from api.graph_svg import render_graph_svg
from api.state import store
from identity.errors import InvalidInput
from identity.services import graph_ops

bp = Blueprint(
    "ui", __name__, url_prefix="/ui", template_folder="../templates",
    static_folder="../static", static_url_path="/static",
)  # fmt: skip

MAX_DRAWN_NODES = 200


@bp.get("/")
def page() -> str:
    return render_template("ui.html")


@bp.get("/persons/<string:person_id>/graph.svg")
@requires("read")
def graph_svg(person_id: str) -> Response:
    limit = request.args.get("limit", MAX_DRAWN_NODES, type=int)
    if not 1 <= limit <= MAX_DRAWN_NODES:
        raise InvalidInput(f"limit must be between 1 and {MAX_DRAWN_NODES}")
    graph = graph_ops.person_graph(store(), principal().workspace, person_id, limit)
    return Response(render_graph_svg(graph), mimetype="image/svg+xml")


@bp.get("/key")
@requires("read")
def key() -> dict[str, object]:
    """What the pasted key may do, so the page shows the admin actions only to admins."""
    who = principal()
    return {"workspace": who.workspace.name, "scopes": sorted(who.scopes)}
