"""Mappings: which column of a CSV export is which identifier, trait, tag, time, channel.

A mapping is written the way the command line takes it::

    openid=wechat_openid@{appid}     the scope comes from the row's ``appid`` column
    device_id={device_type}          the kind comes from the row's ``device_type`` column,
    device_type=ios:idfa,android:oaid    through this table (``--kinds``)
    phone=phone                      an unscoped kind

``{column}`` always means "the value of that column in the same row". The mapping is
checked as a whole against the file's header and the workspace policy before a row is
read, and every problem is reported at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from identity.errors import InvalidInput
from identity.policy import Policy

__all__ = ["IdentifierColumn", "ImportMapping", "Source", "TimeColumn"]


@dataclass(frozen=True, slots=True)
class Source:
    """A literal text, or ``{column}``: the value of that column in the same row."""

    text: str

    @property
    def column(self) -> str | None:
        if len(self.text) > 2 and self.text[0] == "{" and self.text[-1] == "}":
            return self.text[1:-1]
        return None

    @property
    def literal(self) -> str | None:
        return None if self.column is not None else self.text


@dataclass(frozen=True, slots=True)
class IdentifierColumn:
    column: str
    kind: Source
    scope: Source | None = None


@dataclass(frozen=True, slots=True)
class TimeColumn:
    column: str
    format: str = "iso"


@dataclass(frozen=True)
class ImportMapping:
    """Where each part of an observation comes from in a row of a CSV export.

    >>> m = ImportMapping((IdentifierColumn("openid", Source("wechat_openid"),
    ...                                     Source("{appid}")),), channel=Source("mp"))
    >>> m.identifiers[0].scope.column, m.channel.literal, [c for _, c in m.columns()]
    ('appid', 'mp', ['openid', 'appid'])
    """

    identifiers: tuple[IdentifierColumn, ...] = ()
    kinds: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    traits: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    time: TimeColumn | None = None
    message_id: str | None = None
    channel: Source | None = None
    event: Source | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    #: Columns a preset reads if the file has them (see :meth:`fit`).
    optional: frozenset[str] = frozenset()
    #: Spelling problems found while parsing, reported by :meth:`check` with the rest.
    spelling: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def for_columns(self) -> bool:
        """Whether the mapping reads columns (CSV) rather than only setting defaults."""
        return bool(self.identifiers or self.traits or self.tags or self.time or self.message_id)

    def columns(self) -> list[tuple[str, str]]:
        """Every column the mapping reads, as ``(where, column)`` pairs."""
        used: list[tuple[str, str]] = []
        for item in self.identifiers:
            used.append((f"map.{item.column}", item.column))
            for source in (item.kind, item.scope):
                if source is not None and source.column is not None:
                    used.append((f"map.{item.column}", source.column))
        used += [(f"trait.{c}", c) for c in self.traits] + [(f"tag.{c}", c) for c in self.tags]
        if self.time is not None:
            used.append(("time", self.time.column))
        if self.message_id is not None:
            used.append(("message_id", self.message_id))
        for where, source in (("channel", self.channel), ("event", self.event)):
            if source is not None and source.column is not None:
                used.append((where, source.column))
        return used

    def fit(self, header: Sequence[str]) -> ImportMapping:
        """Leave out the optional (preset) columns that the file does not have.

        >>> m = ImportMapping(traits={"lvl": "level", "city": "city"},
        ...                   optional=frozenset({"lvl", "city"}))
        >>> m.fit(["id", "city"]).traits
        {'city': 'city'}
        """
        gone = self.optional - set(header)
        time = self.time if self.time is None or self.time.column not in gone else None
        identifiers = tuple(i for i in self.identifiers if i.column not in gone)
        # A kind table serves the identifiers that take their kind from its column.
        unused = {i.kind.column for i in self.identifiers} - {i.kind.column for i in identifiers}
        return dataclasses.replace(
            self,
            identifiers=identifiers,
            kinds={c: table for c, table in self.kinds.items() if c not in unused},
            traits={c: name for c, name in self.traits.items() if c not in gone},
            tags=tuple(c for c in self.tags if c not in gone),
            time=time,
            message_id=None if self.message_id in gone else self.message_id,
            optional=frozenset(),
        )

    def check(self, header: Sequence[str] | None, policy: Policy) -> None:
        """Refuse a mapping that names an unknown column or kind, with every problem.

        ``header`` is ``None`` for JSON Lines, whose lines carry their own identifiers.
        """
        problems = dict(self.spelling)
        for where, problem in _kind_problems(self, policy):
            problems.setdefault(where, problem)
        if header is None:
            if self.for_columns or self.kinds:
                problems["map"] = "a JSON Lines file carries its own identifiers, traits, tags "
                problems["map"] += "and time; only --channel and --event apply to it"
            elif self.delimiter != ",":
                problems["delimiter"] = "a JSON Lines file has no delimiter"
            elif self.channel is not None and self.channel.column is not None:
                problems["channel"] = "a JSON Lines file has no columns: give a fixed channel"
        else:
            if not self.identifiers:
                problems["map"] = (
                    problems.get("map")
                    or "name at least one identifier column (COLUMN=KIND[@SCOPE])"
                )
            known = set(header)
            shown = ", ".join(header[:30])
            for where, column in self.columns():
                if column not in known:
                    problem = f"unknown column {column!r} (the header has: {shown})"
                    problems.setdefault(where, problem)
        if problems:
            raise InvalidInput(f"the mapping has {len(problems)} problem(s)", problems)

    def as_document(self) -> dict[str, Any]:
        """A JSON document that :meth:`from_document` reads back (stored with the import)."""
        return {
            "identifiers": [
                {"column": i.column, "kind": i.kind.text, "scope": i.scope and i.scope.text}
                for i in self.identifiers
            ],
            "kinds": {c: dict(t) for c, t in self.kinds.items()},
            "traits": dict(self.traits),
            "tags": list(self.tags),
            "time": self.time and {"column": self.time.column, "format": self.time.format},
            "message_id": self.message_id,
            "channel": self.channel and self.channel.text,
            "event": self.event and self.event.text,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ImportMapping:
        time = document.get("time")
        return cls(
            identifiers=tuple(
                IdentifierColumn(i["column"], Source(i["kind"]), _source(i.get("scope")))
                for i in document.get("identifiers", ())
            ),
            kinds={c: dict(t) for c, t in document.get("kinds", {}).items()},
            traits=dict(document.get("traits", {})),
            tags=tuple(document.get("tags", ())),
            time=TimeColumn(time["column"], time["format"]) if time else None,
            message_id=document.get("message_id"),
            channel=_source(document.get("channel")),
            event=_source(document.get("event")),
            delimiter=document.get("delimiter", ","),
            encoding=document.get("encoding", "utf-8"),
        )


def _source(text: str | None) -> Source | None:
    return Source(text) if text else None


def _kind_problems(mapping: ImportMapping, policy: Policy) -> Iterable[tuple[str, str]]:
    for item in mapping.identifiers:
        where = f"map.{item.column}"
        kind_column = item.kind.column
        if kind_column is None:
            yield from _one_kind(where, item.kind.text, item.scope, policy)
            continue
        for kind in mapping.kinds.get(kind_column, {}).values():
            yield from _one_kind(f"kinds.{kind_column}", kind, item.scope, policy)
    for column in mapping.kinds:
        if not any(i.kind.column == column for i in mapping.identifiers):
            yield f"kinds.{column}", f"no identifier takes its kind from {{{column}}}"


def _one_kind(
    where: str, kind: str, scope: Source | None, policy: Policy
) -> Iterable[tuple[str, str]]:
    rule = policy.kinds.get(kind)
    if rule is None:
        yield where, f"unknown kind {kind!r} (known: {', '.join(sorted(policy.kinds))})"
    elif rule.scoped and scope is None:
        spelling = f"{kind}@SCOPE or {kind}@{{column}}"
        yield where, f"kind {kind} needs a scope ({rule.scope} id): {spelling}"
    elif not rule.scoped and scope is not None:
        yield where, f"kind {kind} takes no scope"
