"""Turn one CSV record into an observation, as a checked mapping says.

The limits are those of the observation document (``identity.documents``), so that a
value the API would refuse never reaches the store from a file either. A reason names
the column and what was wrong, never the value: a phone or email column must not leak.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

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
            (at[item.column], item.column, _Text(item.kind, at, "kind"),
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

    def _identifiers(self, record: Sequence[str]) -> list[RawIdentifier]:
        found = []
        for index, column, kind, table, scope in self.identifiers:
            value = record[index].strip()
            if not value:
                continue
            if len(value) > _LIMITS["value"]:
                _limit(value, "value", column)
            chosen = kind.get(record) or ""
            # A value missing from the table may itself be a kind name; if not,
            # screening rejects the identifier as an unknown kind.
            chosen = table.get(chosen.lower(), chosen) if table else chosen
            found.append(RawIdentifier(chosen, value, scope.get(record) if scope else None))
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
