"""Stream a channel export as import rows, resumably.

A reader yields each row (an :class:`ImportRow`) or a :class:`Reject` for a bad one,
together with the :class:`Position` just after it: the physical lines and bytes consumed.
The job runner reads rows in chunks (:func:`read_chunks`) and stores the position after
a chunk as its checkpoint; a reader started from it continues with the next row. Files
are read in blocks of lines, so memory stays flat whatever the size, and an encoding
error is named by its byte offset. CSV: :mod:`identity.imports.csvrows`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from marshmallow import ValidationError

from identity.documents import ObservationSchema, flat_messages
from identity.imports.collector import collector_paused
from identity.imports.csvrows import csv_batches, read_header
from identity.imports.lines import MAX_LINE_BYTES, Batch, Ends, Lines, Position, Row
from identity.imports.mapping import ImportMapping
from identity.imports.rows import Reject, row_or_reject
from identity.observation import Observation
from identity.policy import Policy

__all__ = [
    "FORMATS",
    "MAX_LINE_BYTES",
    "Position",
    "format_of",
    "read_chunks",
    "read_header",
    "read_rows",
]

FORMATS = ("csv", "jsonl")

Item = tuple[Row, Position]
_T = TypeVar("_T")


def format_of(filename: str, given: str | None = None) -> str:
    """The given format, else ``jsonl`` for a ``.jsonl`` or ``.ndjson`` name, else ``csv``.

    >>> format_of("events.NDJSON"), format_of("export.txt"), format_of("x.jsonl", "csv")
    ('jsonl', 'csv', 'csv')
    """
    return given or ("jsonl" if filename.lower().endswith((".jsonl", ".ndjson")) else "csv")


def read_rows(
    path: Path,
    format: str,
    mapping: ImportMapping,
    policy: Policy,
    default_time: datetime,
    start: Position | None = None,
) -> Iterator[Item]:
    """Every row from ``start`` (default: the first data row) to the end of the file.

    The mapping must have been checked (:meth:`ImportMapping.check`) against the header.
    """
    for rows, ends in _batches(path, format, mapping, policy, default_time, start):
        for index, row in enumerate(rows):
            yield row, ends[index]


def read_chunks(
    path: Path,
    format: str,
    mapping: ImportMapping,
    policy: Policy,
    default_time: datetime,
    size: int,
    start: Position | None = None,
) -> Iterator[tuple[list[Row], Position]]:
    """The rows of :func:`read_rows` in lists of ``size`` (the last may be shorter), each
    with the position after its last row."""
    batches = _batches(path, format, mapping, policy, default_time, start)
    return _collector_paused(_chunked(batches, size))


def _batches(
    path: Path,
    format: str,
    mapping: ImportMapping,
    policy: Policy,
    default_time: datetime,
    start: Position | None,
) -> Iterator[Batch]:
    if format == "csv":
        return csv_batches(path, mapping, policy, default_time, start)
    items = _read_jsonl(path, mapping, default_time, start or Position())
    return (([row], [end]) for row, end in items)


def _chunked(batches: Iterator[Batch], size: int) -> Iterator[tuple[list[Row], Position]]:
    chunk: list[Row] = []
    last: tuple[Ends, int] | None = None
    for rows, ends in batches:
        taken = 0
        while taken < len(rows):
            piece = rows[taken : taken + size - len(chunk)]
            chunk += piece
            taken += len(piece)
            last = ends, taken - 1
            if len(chunk) == size:
                yield chunk, ends[taken - 1]
                chunk = []
    if chunk and last is not None:
        yield chunk, last[0][last[1]]


def _collector_paused(chunks: Iterator[_T]) -> Iterator[_T]:
    """Each chunk made with the cyclic garbage collector paused."""
    while True:
        with collector_paused():
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


def _read_jsonl(
    path: Path, mapping: ImportMapping, default_time: datetime, start: Position
) -> Iterator[Item]:
    schema = ObservationSchema()
    defaults = {"channel": mapping.channel, "event": mapping.event}
    with path.open("rb") as handle:
        handle.seek(start.offset)
        lines = Lines(handle, start, mapping.encoding)
        for text in lines:
            line = lines.line
            if lines.bad:
                row: Row = Reject(line, lines.bad)
                lines.bad = None
            elif not text.strip():
                continue
            else:
                row = row_or_reject(line, _observation(text, schema, default_time, defaults))
            yield row, lines.position


def _observation(
    text: str, schema: ObservationSchema, default_time: datetime, defaults: dict[str, Any]
) -> Observation | str:
    try:
        document = json.loads(text.rstrip())
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(document, dict):
        return "a line must be a JSON object shaped like a POST /v1/identify body"
    try:
        observation: Observation = schema.load(document)
    except ValidationError as exc:
        problems = flat_messages(exc.normalized_messages())  # type: ignore[no-untyped-call]
        return "invalid observation: " + "; ".join(f"{k}: {v}" for k, v in problems.items())
    changes: dict[str, Any] = {} if "timestamp" in document else {"timestamp": default_time}
    for name, source in defaults.items():
        if source is not None and name not in document:
            changes[name] = source.text
    return dataclasses.replace(observation, **changes) if changes else observation
