"""The overlap of channel audiences for people: ``/ui/overlap`` draws an UpSet-style
chart (one bar per exact combination, dots saying which channels it is) as inline SVG
rendered on the server, so the page needs no script and no CDN.

The page asks for an API key with the ``read`` scope in a password field and posts it,
so keys never land in URLs, logs or browser history.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from api.auth import workspaces
from api.charts import chart
from api.errors import STATUS
from api.state import store
from identity.errors import DatabankError
from identity.services import audience as audience_service

bp = Blueprint("ui_insights", __name__, url_prefix="/ui")

DEFAULT_CHANNELS = "app,wechat_mp,alipay_mp"


@bp.route("/overlap", methods=["GET", "POST"])
def overlap() -> tuple[str, int]:
    """Without a key: the form. With one: the chart of the named channels."""
    channels = request.values.get("channels", DEFAULT_CHANNELS)
    if request.method == "GET":
        return render_template("insights/overlap.html", channels=channels, chart=None), 200
    try:
        found = workspaces().authenticate(request.form.get("key", "").strip() or None)
        found.require("read")
        result = audience_service.overlap(store(), found.workspace, channels.split(","))
    except DatabankError as exc:
        status = next(code for cls, code in STATUS if isinstance(exc, cls))
        return render_template("insights/overlap.html", channels=channels, chart=None,
                               error=exc.detail), status  # fmt: skip
    return render_template("insights/overlap.html", channels=channels, chart=chart(result)), 200
