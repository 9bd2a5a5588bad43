"""Chart geometry computed in Python, so templates only place what is computed here."""

from __future__ import annotations

from typing import Any

__all__ = ["chart"]

ROW = 28  # pixels per combination
BAR = 360  # pixels of the longest bar
DOT = 22  # pixels between channel dots


def chart(overlap: dict[str, Any]) -> dict[str, Any]:
    """Geometry of the chart: where each bar, dot and label goes.

    >>> c = chart({"channels": ["app", "mp"], "persons": 3, "per_channel": {"app": 3, "mp": 1},
    ...            "combinations": [{"channels": ["app", "mp"], "persons": 1},
    ...                             {"channels": ["app"], "persons": 2},
    ...                             {"channels": ["mp"], "persons": 0}]})
    >>> [(r["persons"], r["width"]) for r in c["rows"]]
    [(2, 360), (1, 180)]
    """
    names = overlap["channels"]
    shown = sorted((c for c in overlap["combinations"] if c["persons"]),
                   key=lambda c: -c["persons"])  # fmt: skip
    top = max((c["persons"] for c in shown), default=1)
    dots_width = DOT * len(names)

    def dots(members: list[str]) -> list[dict[str, Any]]:
        return [{"x": 10 + j * DOT, "on": name in members} for j, name in enumerate(names)]

    rows = [
        {
            "y": 40 + i * ROW,
            "persons": c["persons"],
            "share": c["persons"] / overlap["persons"] if overlap["persons"] else 0,
            "width": round(BAR * c["persons"] / top),
            "dots": dots(c["channels"]),
            "label": " + ".join(c["channels"]),
        }
        for i, c in enumerate(shown)
    ]  # fmt: skip
    busiest = max(overlap["per_channel"].values(), default=0) or 1
    totals = [
        {"name": name, "persons": overlap["per_channel"][name],
         "width": round(BAR * overlap["per_channel"][name] / busiest), "y": 20 + i * ROW}
        for i, name in enumerate(names)
    ]  # fmt: skip
    return {
        "names": names,
        "persons": overlap["persons"],
        "rows": rows,
        "totals": totals,
        "bar_x": dots_width + 20,
        "height": 50 + max(len(rows), 1) * ROW,
        "totals_height": 30 + len(names) * ROW,
        "width": dots_width + BAR + 170,
    }
