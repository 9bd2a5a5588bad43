"""The physical lines of an export, counted: where a reader stands, and the lines of a
file as text, one by one, with what was wrong with a line that is not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

from identity.imports.rows import ImportRow, Reject

__all__ = ["MAX_LINE_BYTES", "Batch", "Ends", "Lines", "Position", "Row"]

MAX_LINE_BYTES = 1 << 20

Row = ImportRow | Reject


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


class Ends(Protocol):
    """The position after each row of a batch."""

    def __getitem__(self, index: int, /) -> Position: ...


Batch = tuple[list[Row], Ends]  # rows read in one go, and the position after each


class Lines:
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

    @property
    def position(self) -> Position:
        return Position(self.line, self.offset)

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
