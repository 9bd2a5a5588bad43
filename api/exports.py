"""Audience exports as CSV or JSON Lines, written row by row while they stream."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from identity.audience import trait_text

__all__ = ["KEY_TRAITS", "csv_lines", "jsonl_lines"]

KEY_TRAITS = ("membership_level", "consumption_level")
LIST_SEPARATOR = "|"


def jsonl_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, default=_iso, ensure_ascii=False, separators=(",", ":")) + "\n"


def csv_lines(rows: Iterable[dict[str, Any]], traits: Iterable[str] = ()) -> Iterator[str]:
    """A header, then one line per person; lists are joined by ``|``."""
    columns = list(dict.fromkeys([*KEY_TRAITS, *traits]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(["person_id", *columns, "tags", "channels", "last_seen"])
    for row in rows:
        yield line([
            row["person_id"],
            *(_cell(row["traits"].get(name)) for name in columns),
            LIST_SEPARATOR.join(row["tags"]),
            LIST_SEPARATOR.join(row["channels"]),
            _iso(row["last_seen"]) if row["last_seen"] else "",
        ])  # fmt: skip


def _cell(value: Any) -> str:
    return trait_text(value) or ""


def _iso(value: datetime) -> str:
    return value.isoformat()
