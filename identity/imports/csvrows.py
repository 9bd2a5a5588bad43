"""The rows of a CSV export, a block of lines at a time.

Plain lines (:mod:`identity.imports.blocks`), nearly all of a usual export, are split at
the delimiter and parsed together (:meth:`RowParser.parse_many`); the csv module reads
the records that start at any other line, exactly as it would read the whole file, and
names what is wrong with them. Either way a row's line number and the position after it
are those of the csv module reading the file line by line.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections.abc import Generator, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from identity.errors import InvalidInput
from identity.imports.blocks import Block, read_block, scan_block, splits_like_bytes
from identity.imports.columns import RowParser
from identity.imports.lines import Batch, Lines, Position, Row
from identity.imports.mapping import ImportMapping
from identity.imports.rows import ImportRow, Reject, row_or_reject
from identity.policy import Policy

__all__ = ["csv_batches", "read_header"]


def read_header(path: Path, mapping: ImportMapping | None = None) -> tuple[list[str], Position]:
    """The CSV header's column names and the position of the first data row (in the
    mapping's delimiter and encoding)."""
    mapping = mapping or ImportMapping()
    with path.open("rb") as handle:
        lines = Lines(handle, Position(), mapping.encoding)
        record = next(csv.reader(lines, delimiter=mapping.delimiter), None)
        if record is None:
            raise InvalidInput("the file is empty", {"file": "a CSV export needs a header row"})
        if lines.bad:
            raise InvalidInput("the header row is unreadable", {"file": lines.bad})
        header = [name.strip() for name in record]
        if header:
            header[0] = header[0].removeprefix("\ufeff")
        return header, lines.position


def csv_batches(
    path: Path,
    mapping: ImportMapping,
    policy: Policy,
    default_time: datetime,
    start: Position | None,
    plain: bool = True,
) -> Iterator[Batch]:
    """The rows from ``start`` (default: the first data row) in batches; ``plain=False``
    leaves every line to the csv module (the reference the tests compare with)."""
    header, body = read_header(path, mapping)
    reading = _Reading(mapping, RowParser(mapping, header, policy, default_time))
    at = start or body
    plain = plain and splits_like_bytes(mapping.encoding)
    with path.open("rb") as handle:
        while True:
            handle.seek(at.offset)
            data = read_block(handle) if plain else b""
            if data:
                block = scan_block(data, mapping.encoding, mapping.delimiter)
                at = yield from reading.block(handle, at, block)
                continue
            # The end of the file, a line longer than a block, or no plain reading.
            end = yield from reading.records(handle, at, at.offset + 1 if plain else None)
            if end == at:
                return
            at = end


class _Reading:
    """Rows from a block's lines: plain lines split at the delimiter, the others (and
    the lines their records run over) read by the csv module."""

    def __init__(self, mapping: ImportMapping, parser: RowParser) -> None:
        self.mapping = mapping
        self.parser = parser

    def block(
        self, handle: IO[bytes], at: Position, block: Block
    ) -> Generator[Batch, None, Position]:
        """The rows of ``block``, which starts at ``at``; the position after it, or after
        the last record the csv module read if that runs on past its end."""
        ends, count = block.ends, len(block.ends)
        line = 0  # the next line of the block to read
        for other in [*block.not_plain, count]:
            if other < line:
                continue  # inside a record that the csv module read
            if other > line:
                yield self._plain(block, line, other, at)
            if other == count:
                break
            begin = Position(at.line + other, at.offset + (ends[other - 1] if other else 0))
            end = yield from self.records(handle, begin, begin.offset + 1)
            if end.offset - at.offset > ends[-1]:
                return end
            line = bisect_right(ends, end.offset - at.offset)
        return Position(at.line + count, at.offset + ends[-1])

    def _plain(self, block: Block, line: int, stop: int, at: Position) -> Batch:
        texts, delimiter = block.texts, self.mapping.delimiter
        numbers: Sequence[int] = range(line, stop)
        if "" in texts[line:stop]:
            numbers = [number for number in numbers if texts[number]]  # a blank line is no row
        quoted = block.quoted
        parsed = self.parser.parse_many(
            [quoted.get(n) or texts[n].split(delimiter) for n in numbers]
        )
        first = at.line + 1
        rows: list[Row] = [
            Reject(first + n, p) if type(p) is str else ImportRow(first + n, p)  # type: ignore[arg-type]
            for n, p in zip(numbers, parsed, strict=True)
        ]  # row_or_reject, spelt out: this is the loop of every row
        return rows, _Ends(at, numbers, block.ends)

    def records(
        self, handle: IO[bytes], start: Position, until: int | None
    ) -> Generator[Batch, None, Position]:
        """Records read by the csv module from ``start`` until ``until`` bytes of the file
        are consumed (``None``: to its end); the position where it stopped."""
        handle.seek(start.offset)
        lines = Lines(handle, start, self.mapping.encoding)
        reader = csv.reader(lines, delimiter=self.mapping.delimiter)
        while until is None or lines.offset < until:
            first = lines.line + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                lines.bad = lines.bad or f"unreadable CSV: {exc}"
                record = []
            if lines.bad:
                row: Row = Reject(first, lines.bad)
                lines.bad = None
            elif not record:
                continue  # a blank line is no row
            else:
                row = row_or_reject(first, self.parser.parse_many((record,))[0])
            yield [row], [lines.position]
        return lines.position


class _Ends:
    """The position after each row of a batch of plain lines, made when asked for."""

    __slots__ = ("at", "ends", "numbers")

    def __init__(self, at: Position, numbers: Sequence[int], ends: list[int]) -> None:
        self.at, self.numbers, self.ends = at, numbers, ends

    def __getitem__(self, index: int) -> Position:
        number = self.numbers[index]
        return Position(self.at.line + number + 1, self.at.offset + self.ends[number])
