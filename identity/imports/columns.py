"""Turn one CSV record into an observation, as a checked mapping says.

The limits are those of the observation document (``identity.documents``), so that a
value the API would refuse never reaches the store from a file either. A reason names
the column and what was wrong, never the value: a phone or email column must not leak.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

from identity.documents import MAX_IDENTIFIERS
from identity.imports.mapping import ImportMapping, Source
from identity.imports.timestamps import describe, time_parser
from identity.observation import Observation, RawIdentifier
from identity.policy import Policy

__all__ = ["RowParser"]

_TAG_SEPARATORS = re.compile(r"[|,]")
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_LIMITS = {"kind": 40, "scope": 100, "value": 255, "channel": 100, "event": 100,
           "message_id": 200, "tag": 100}  # fmt: skip
MAX_TAGS = 100
#: How many distinct cells of a column :meth:`RowParser.parse_many` remembers.
REMEMBERED = 200_000


class RowParser:
    """Compiled once per file: column positions resolved, the time parser chosen.

    ``parse(record)`` returns an :class:`Observation` or the reason the row is rejected.
    ``default_time`` stamps rows of a file without a time column (the import's creation
    time, so that a resumed import stamps the same times as an uninterrupted one).
    """

    def __init__(
        self, mapping: ImportMapping, header: Sequence[str], policy: Policy, default_time: datetime
    ) -> None:
        at = {name: index for index, name in reversed(list(enumerate(header)))}
        self.width = len(header)
        self.default_time = default_time
        self.identifiers = [
            _IdentifierColumn(at[item.column], item.column, _Text(item.kind, at, "kind"),
                              mapping.kinds.get(item.kind.column or "", {}),
                              _Text(item.scope, at, "scope") if item.scope else None)
            for item in mapping.identifiers
        ]  # fmt: skip
        numeric = {"sum", "max"}
        self.traits = [(at[c], name, policy.trait_merge(name) in numeric)
                       for c, name in mapping.traits.items()]  # fmt: skip
        self.tags = [(at[column], column) for column in mapping.tags]
        time = mapping.time
        self.time = (at[time.column], time, time_parser(time.format)) if time else None
        self.message_id = _Text(_column(mapping.message_id), at, "message_id")
        self.channel = _Text(mapping.channel, at, "channel")
        self.event = _Text(mapping.event, at, "event")
        self.seen_identifiers = [(c.cells, c.seen, c) for c in self.identifiers]
        self.identifier_cells = _cells(sorted({i for c in self.identifiers for i in c.indexes}))
        self.seen_rows: dict[Any, tuple[RawIdentifier, ...]] = {}
        self.seen_tags: dict[Any, tuple[str, ...]] = {}
        self.tag_cells = _cells([index for index, _ in self.tags])
        self.texts = (self.message_id, self.channel, self.event)
        fixed = all(text.index < 0 for text in self.texts)
        self.fixed = tuple(text.fixed for text in self.texts) if fixed else None

    def parse(self, record: Sequence[str]) -> Observation | str:
        if len(record) != self.width:
            return f"expected {self.width} columns, found {len(record)}"
        try:
            identifiers = self._identifiers(record)
            if not identifiers:
                return "no identifier: every identifier column is empty"
            return Observation(
                identifiers=identifiers,
                timestamp=self._timestamp(record),
                message_id=self.message_id.get(record),
                channel=self.channel.get(record),
                event=self.event.get(record),
                traits=self._traits(record) if self.traits else {},
                tags=self._tags(record) if self.tags else (),
            )
        except _BadCell as bad:
            return str(bad)

    def parse_many(self, records: Iterable[Sequence[str]]) -> list[Observation | str]:
        """``parse`` of each record. A common row takes a quicker way: the identifiers and
        tags of cells seen before are remembered (and the same objects handed out again,
        which spares screening their comparison); any other row is left to ``parse``."""
        quick, parse = self._quick, self.parse
        parsed: list[Observation | str] = []
        for record in records:
            try:
                parsed.append(quick(record))
            except ValueError:
                parsed.append(parse(record))
        return parsed

    def _quick(self, record: Sequence[str]) -> Observation:
        """The observation of a row with nothing wrong in it; ``ValueError`` otherwise."""
        if len(record) != self.width:
            raise _BadCell("a row of another width")
        cells = self.identifier_cells(record)
        seen = self.seen_rows.get(cells)
        if seen is None:
            seen = self._seen_identifiers(record)
            _remember(self.seen_rows, cells, seen)
        identifiers = list(seen)
        if not identifiers or len(identifiers) > MAX_IDENTIFIERS:
            raise _BadCell("a row without an identifier, or with too many")
        time = self.time
        texts = self.fixed or [text.get(record) for text in self.texts]
        return Observation.of(
            identifiers,
            time[2](record[time[0]]) if time else self.default_time,
            texts[0],
            texts[1],
            texts[2],
            self._traits(record) if self.traits else {},
            self._seen_tags(record) if self.tags else (),
        )

    def _seen_identifiers(self, record: Sequence[str]) -> tuple[RawIdentifier, ...]:
        identifiers: list[RawIdentifier] = []
        for cells, seen, column in self.seen_identifiers:
            raw = seen.get(cells(record), _UNSEEN)
            if raw is _UNSEEN:
                raw = column.remember(record)
            if raw is not None:
                identifiers.append(raw)
        return tuple(identifiers)

    def _seen_tags(self, record: Sequence[str]) -> list[str]:
        cells = self.tag_cells(record)
        tags = self.seen_tags.get(cells)
        if tags is None:
            tags = tuple(self._tags(record))
            _remember(self.seen_tags, cells, tags)
        return list(tags)

    def _identifiers(self, record: Sequence[str]) -> list[RawIdentifier]:
        found = [raw for column in self.identifiers if (raw := column.read(record)) is not None]
        if len(found) > MAX_IDENTIFIERS:
            raise _BadCell(f"more than {MAX_IDENTIFIERS} identifiers in one row")
        return found

    def _timestamp(self, record: Sequence[str]) -> datetime:
        if self.time is None:
            return self.default_time
        index, time, parse = self.time
        try:
            return parse(record[index])
        except ValueError:
            raise _BadCell(
                f"column {time.column}: not a time in the format {describe(time.format)}"
            ) from None

    def _traits(self, record: Sequence[str]) -> dict[str, Any]:
        traits: dict[str, Any] = {}
        for index, name, numeric in self.traits:
            value = record[index].strip()
            if value:
                traits[name] = _number(value) if numeric else value
        return traits

    def _tags(self, record: Sequence[str]) -> list[str]:
        tags: dict[str, None] = {}
        for index, column in self.tags:
            for tag in _TAG_SEPARATORS.split(record[index]):
                if tag := tag.strip():
                    tags[_limit(tag, "tag", column)] = None
        if len(tags) > MAX_TAGS:
            raise _BadCell(f"more than {MAX_TAGS} tags in one row")
        return list(tags)


class _IdentifierColumn:
    """Where an identifier's value, kind and scope come from in a row, and the
    identifiers read from the cells seen so far (``None`` for an empty value)."""

    def __init__(
        self, index: int, column: str, kind: _Text, table: Mapping[str, str], scope: _Text | None
    ) -> None:
        self.index, self.column, self.table = index, column, table
        self.kind, self.scope = kind, scope
        self.indexes = [index] + [t.index for t in (kind, scope) if t is not None and t.index >= 0]
        self.cells = _cells(self.indexes)
        self.seen: dict[Any, RawIdentifier | None] = {}

    def read(self, record: Sequence[str]) -> RawIdentifier | None:
        value = record[self.index].strip()
        if not value:
            return None
        if len(value) > _LIMITS["value"]:
            _limit(value, "value", self.column)
        chosen = self.kind.get(record) or ""
        # A value missing from the table may itself be a kind name; if not,
        # screening rejects the identifier as an unknown kind.
        chosen = self.table.get(chosen.lower(), chosen) if self.table else chosen
        return RawIdentifier(chosen, value, self.scope.get(record) if self.scope else None)

    def remember(self, record: Sequence[str]) -> RawIdentifier | None:
        """``read``, kept for the next row with the same cells."""
        raw = self.read(record)
        _remember(self.seen, self.cells(record), raw)
        return raw


class _Text:
    """A literal, or the (stripped, length-checked) cell of a column; ``None`` if empty."""

    __slots__ = ("column", "fixed", "index", "what")

    def __init__(self, source: Source | None, at: dict[str, int], what: str) -> None:
        self.what = what
        self.column = source.column if source is not None else None
        self.fixed = source.literal if source is not None else None
        self.index = at[self.column] if self.column is not None else -1

    def get(self, record: Sequence[str]) -> str | None:
        if self.index < 0:
            return self.fixed
        return _limit(record[self.index].strip(), self.what, self.column or "") or None


def _cells(indexes: list[int]) -> Callable[[Sequence[str]], Any]:
    """The cells of a row at ``indexes`` (a key for what was read from them)."""
    return itemgetter(*indexes) if indexes else lambda _: None


def _remember(seen: dict[Any, _V], cells: Any, value: _V) -> None:
    if len(seen) >= REMEMBERED:
        seen.clear()  # bounded: an export of many distinct values reads on from scratch
    seen[cells] = value


_UNSEEN: Any = object()
_V = TypeVar("_V")


def _column(name: str | None) -> Source | None:
    return Source(f"{{{name}}}") if name else None


class _BadCell(ValueError):
    pass


def _limit(text: str, what: str, column: str) -> str:
    if len(text) > _LIMITS[what]:
        raise _BadCell(f"column {column}: a {what} has at most {_LIMITS[what]} characters")
    return text


def _number(text: str) -> int | float | str:
    """A summed or maximised trait needs a number; other text is left for the checks."""
    if _INTEGER.fullmatch(text):
        return int(text)
    return float(text) if _NUMBER.fullmatch(text) else text
