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

    ``parse(record, line)`` returns an :class:`Observation` or the reason the row is
    rejected. ``default_time`` stamps rows of a file without a time column (the import's
    creation time, so that a resumed import stamps the same times as an uninterrupted one).
    """

    def __init__(
        self, mapping: ImportMapping, header: Sequence[str], policy: Policy, default_time: datetime
    ) -> None:
        self.mapping = mapping
        self.width = len(header)
        self.at = {name: index for index, name in reversed(list(enumerate(header)))}
        self.default_time = default_time
        self.numeric_traits = {
            column for column, name in mapping.traits.items()
            if policy.trait_merge(name) in ("sum", "max")
        }  # fmt: skip
        time = mapping.time
        self.parse_time = time_parser(time.format) if time else None

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
                message_id=self._text(record, self.mapping.message_id, "message_id"),
                channel=self._source(record, self.mapping.channel, "channel"),
                event=self._source(record, self.mapping.event, "event"),
                traits=self._traits(record),
                tags=self._tags(record),
            )
        except _BadCell as bad:
            return str(bad)

    def _cell(self, record: Sequence[str], column: str) -> str:
        return record[self.at[column]].strip()

    def _identifiers(self, record: Sequence[str]) -> list[RawIdentifier]:
        found = []
        for item in self.mapping.identifiers:
            value = self._cell(record, item.column)
            if not value:
                continue
            _limit(value, "value", item.column)
            kind = self._kind(record, item.kind)
            scope = self._source(record, item.scope, "scope") if item.scope else None
            found.append(RawIdentifier(kind, value, scope))
        if len(found) > MAX_IDENTIFIERS:
            raise _BadCell(f"more than {MAX_IDENTIFIERS} identifiers in one row")
        return found

    def _kind(self, record: Sequence[str], kind: Source) -> str:
        if kind.column is None:
            return kind.text
        value = self._cell(record, kind.column)
        # A value missing from the table may itself be a kind name; if not, screening
        # rejects the identifier as an unknown kind.
        chosen = self.mapping.kinds.get(kind.column, {}).get(value.lower(), value)
        return _limit(chosen, "kind", kind.column)

    def _source(self, record: Sequence[str], source: Source | None, what: str) -> str | None:
        if source is None:
            return None
        if source.column is None:
            return source.text
        return self._text(record, source.column, what)

    def _text(self, record: Sequence[str], column: str | None, what: str) -> str | None:
        if column is None:
            return None
        return _limit(self._cell(record, column), what, column) or None

    def _timestamp(self, record: Sequence[str]) -> datetime:
        time = self.mapping.time
        if time is None or self.parse_time is None:
            return self.default_time
        try:
            return self.parse_time(self._cell(record, time.column))
        except ValueError:
            raise _BadCell(
                f"column {time.column}: not a time in the format {describe(time.format)}"
            ) from None

    def _traits(self, record: Sequence[str]) -> dict[str, Any]:
        traits: dict[str, Any] = {}
        for column, name in self.mapping.traits.items():
            value = self._cell(record, column)
            if value:
                traits[name] = _number(value) if column in self.numeric_traits else value
        return traits

    def _tags(self, record: Sequence[str]) -> list[str]:
        tags: dict[str, None] = {}
        for column in self.mapping.tags:
            for tag in _TAG_SEPARATORS.split(self._cell(record, column)):
                if tag.strip():
                    tags[_limit(tag.strip(), "tag", column)] = None
        if len(tags) > MAX_TAGS:
            raise _BadCell(f"more than {MAX_TAGS} tags in one row")
        return list(tags)


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
