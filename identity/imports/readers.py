"""Stream a channel export as import rows, resumably.

A reader yields each row (an :class:`ImportRow`) or a :class:`Reject` for a bad one,
together with the :class:`Position` just after it: the physical lines and bytes consumed.
The job runner stores that position as its checkpoint, and a reader started from it
continues with the next row. Files are read line by line in binary, so memory stays
flat whatever the size, and an encoding error is named by its byte offset.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from marshmallow import ValidationError

from identity.documents import ObservationSchema, flat_messages
from identity.errors import InvalidInput
from identity.imports.columns import RowParser
from identity.imports.mapping import ImportMapping
from identity.imports.rows import ImportRow, Reject
from identity.observation import Observation
from identity.policy import Policy

__all__ = ["FORMATS", "Position", "format_of", "read_header", "read_rows"]

FORMATS = ("csv", "jsonl")
MAX_LINE_BYTES = 1 << 20

Item = tuple[ImportRow | Reject, "Position"]


def format_of(filename: str, given: str | None = None) -> str:
    """The given format, else ``jsonl`` for a ``.jsonl`` or ``.ndjson`` name, else ``csv``.

    >>> format_of("events.NDJSON"), format_of("export.txt"), format_of("x.jsonl", "csv")
    ('jsonl', 'csv', 'csv')
    """
    return given or ("jsonl" if filename.lower().endswith((".jsonl", ".ndjson")) else "csv")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a reader stands: physical lines and bytes consumed from the file's start."""

    line: int = 0
    offset: int = 0

    def as_document(self) -> dict[str, int]:
        return {"line": self.line, "offset": self.offset}

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> Position | None:
        return cls(int(document["line"]), int(document["offset"])) if document else None


def read_header(path: Path, mapping: ImportMapping | None = None) -> tuple[list[str], Position]:
    """The CSV header's column names and the position of the first data row (in the
    mapping's delimiter and encoding)."""
    mapping = mapping or ImportMapping()
    with path.open("rb") as handle:
        lines = _Lines(handle, Position(), mapping.encoding)
        record = next(csv.reader(lines, delimiter=mapping.delimiter), None)
        if record is None:
            raise InvalidInput("the file is empty", {"file": "a CSV export needs a header row"})
        if lines.bad:
            raise InvalidInput("the header row is unreadable", {"file": lines.bad})
        header = [name.strip() for name in record]
        if header:
            header[0] = header[0].removeprefix("\ufeff")
        return header, Position(lines.line, lines.offset)


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
    if format == "csv":
        return _read_csv(path, mapping, policy, default_time, start)
    return _read_jsonl(path, mapping, default_time, start or Position())


def _read_csv(
    path: Path,
    mapping: ImportMapping,
    policy: Policy,
    default_time: datetime,
    start: Position | None,
) -> Iterator[Item]:
    header, body = read_header(path, mapping)
    parser = RowParser(mapping, header, policy, default_time)
    start = start or body
    with path.open("rb") as handle:
        handle.seek(start.offset)
        lines = _Lines(handle, start, mapping.encoding)
        reader = csv.reader(lines, delimiter=mapping.delimiter)
        while True:
            first = lines.line + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                lines.bad = lines.bad or f"unreadable CSV: {exc}"
                record = []
            if lines.bad:
                item: ImportRow | Reject = Reject(first, lines.bad)
                lines.bad = None
            elif not record:
                continue  # a blank line is no row
            else:
                item = _item(first, parser.parse(record))
            yield item, Position(lines.line, lines.offset)


def _read_jsonl(
    path: Path, mapping: ImportMapping, default_time: datetime, start: Position
) -> Iterator[Item]:
    schema = ObservationSchema()
    defaults = {"channel": mapping.channel, "event": mapping.event}
    with path.open("rb") as handle:
        handle.seek(start.offset)
        lines = _Lines(handle, start, mapping.encoding)
        for text in lines:
            line = lines.line
            if lines.bad:
                item: ImportRow | Reject = Reject(line, lines.bad)
                lines.bad = None
            elif not text.strip():
                continue
            else:
                item = _item(line, _observation(text, schema, default_time, defaults))
            yield item, Position(lines.line, lines.offset)


def _item(line: int, parsed: Observation | str) -> ImportRow | Reject:
    return Reject(line, parsed) if isinstance(parsed, str) else ImportRow(line, parsed)


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


class _Lines:
    """The file's physical lines as text, counting lines and bytes as they are handed
    out. A line that is not UTF-8 (or is longer than ``MAX_LINE_BYTES``) is handed out
    mended, with ``bad`` saying what was wrong, so that the row it belongs to is
    rejected and the rest of the file still reads."""

    def __init__(self, handle: IO[bytes], start: Position, encoding: str) -> None:
        self.handle = handle
        self.encoding = encoding
        self.label = "UTF-8" if encoding == "utf-8" else encoding
        self.line = start.line
        self.offset = start.offset
        self.bad: str | None = None

    def __iter__(self) -> Iterator[str]:
        while raw := self.handle.readline(MAX_LINE_BYTES):
            at = self.offset
            self.line += 1
            self.offset += len(raw)
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                self.offset += self._skip_rest()
                self.bad = self.bad or f"a line longer than {MAX_LINE_BYTES} bytes"
                yield "\n"
                continue
            try:
                yield raw.decode(self.encoding)
            except UnicodeDecodeError as exc:
                self.bad = self.bad or f"invalid {self.label} at byte offset {at + exc.start}"
                yield raw.decode(self.encoding, "replace")

    def _skip_rest(self) -> int:
        skipped = 0
        while chunk := self.handle.readline(MAX_LINE_BYTES):
            skipped += len(chunk)
            if chunk.endswith(b"\n"):
                break
        return skipped
