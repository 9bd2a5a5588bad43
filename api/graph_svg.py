"""Draw a person's identity graph as SVG on the server: a networkx layout, no JS library.

Nodes are coloured by kind; every node and edge carries a ``<title>`` (shown on hover)
and ``data-`` attributes the page reads on click.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import networkx as nx
from flask import render_template

__all__ = ["KIND_COLOURS", "render_graph_svg"]

WIDTH, HEIGHT, MARGIN = 760, 520, 40
KIND_COLOURS = {
    "login_id": "#1f77b4", "member_id": "#9467bd", "phone": "#d62728", "email": "#e377c2",
    "wechat_unionid": "#2ca02c", "douyin_unionid": "#17becf", "alipay_user_id": "#ff7f0e",
    "wechat_openid": "#98df8a", "alipay_openid": "#ffbb78", "douyin_openid": "#9edae5",
    "idfa": "#8c564b", "idfv": "#c49c94", "oaid": "#7f7f7f", "android_id": "#bcbd22",
    "gaid": "#dbdb8d", "anonymous_id": "#c7c7c7",
}  # fmt: skip
_SPARE = ("#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")


def colour(kind: str) -> str:
    """A fixed colour per known kind; a stable spare one for a workspace's own kinds."""
    if kind in KIND_COLOURS:
        return KIND_COLOURS[kind]
    return _SPARE[int(hashlib.sha1(kind.encode()).hexdigest(), 16) % len(_SPARE)]


def render_graph_svg(graph: dict[str, Any]) -> str:
    """The SVG of a ``person_graph`` document."""
    G = nx.Graph()
    G.add_nodes_from(n["id"] for n in graph["nodes"])
    G.add_edges_from((e["source"], e["target"]) for e in graph["edges"])
    at = _positions(G)
    nodes = [{**n, "x": at[n["id"]][0], "y": at[n["id"]][1], "colour": colour(n["kind"]),
              "label": _label(n)} for n in graph["nodes"]]  # fmt: skip
    edges = [
        {**e, "x1": at[e["source"]][0], "y1": at[e["source"]][1],
         "x2": at[e["target"]][0], "y2": at[e["target"]][1],
         "evidence": json.dumps(_evidence(e), default=_iso), "summary": _summary(e)}
        for e in graph["edges"]
    ]  # fmt: skip
    kinds = sorted({n["kind"] for n in graph["nodes"]})
    legend = [{"kind": k, "colour": colour(k)} for k in kinds]
    return render_template("graph.svg", width=WIDTH, height=HEIGHT, nodes=nodes, edges=edges,
                           legend=legend, graph=graph)  # fmt: skip


def _positions(G: nx.Graph) -> dict[str, tuple[float, float]]:
    if G.number_of_nodes() == 1:
        return {next(iter(G.nodes)): (WIDTH / 2, HEIGHT / 2)}
    raw = nx.spring_layout(G, seed=7) if G.number_of_nodes() else {}
    xs = [float(p[0]) for p in raw.values()] or [0.0]
    ys = [float(p[1]) for p in raw.values()] or [0.0]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    return {
        node: (round(MARGIN + (float(p[0]) - min(xs)) / span_x * (WIDTH - 2 * MARGIN - 120), 1),
               round(MARGIN + (float(p[1]) - min(ys)) / span_y * (HEIGHT - 2 * MARGIN), 1))
        for node, p in raw.items()
    }  # fmt: skip


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _label(node: dict[str, Any]) -> str:
    value = node["value"]
    return value if len(value) <= 14 else f"{value[:6]}…{value[-6:]}"


def _evidence(edge: dict[str, Any]) -> dict[str, Any]:
    keys = ("source", "target", "link_id", "count", "channels", "first_seen", "last_seen",
            "first_message_id")  # fmt: skip
    return {k: edge[k] for k in keys}


def _summary(edge: dict[str, Any]) -> str:
    channels = ", ".join(edge["channels"]) or "no channel"
    return (f"{edge['source']} — {edge['target']}: seen together {edge['count']} times "
            f"({channels}), first {edge['first_seen']}, last {edge['last_seen']}, "
            f"first message {edge['first_message_id'] or '-'}")  # fmt: skip
