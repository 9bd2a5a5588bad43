"""The mapping as a user writes it (command-line options, form fields), and its parser.

The syntax is described in :mod:`identity.imports.mapping` and ``docs/imports.md``.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from identity.errors import InvalidInput
from identity.imports.mapping import IdentifierColumn, ImportMapping, Source, TimeColumn
from identity.imports.timestamps import check_time_format

__all__ = ["MappingSpec", "parse_mapping"]


@dataclass(frozen=True)
class MappingSpec:
    """Each option as written: ``maps`` are ``COLUMN=KIND[@SCOPE]``, ``kinds`` are
    ``COLUMN=VALUE:KIND,...``, ``traits`` ``COLUMN[=TRAIT]``, ``tags`` column names,
    ``time`` ``COLUMN[:FORMAT]``; ``channel`` and ``event`` a text or ``{COLUMN}``;
    ``delimiter`` one character or ``tab``, ``semicolon``, ``pipe``; ``encoding`` a codec
    that spells ASCII as ASCII (``utf-8``, ``gb18030``, ``gbk``, ``big5``, ``latin-1``)."""

    maps: Sequence[str] = ()
    kinds: Sequence[str] = ()
    traits: Sequence[str] = ()
    tags: Sequence[str] = ()
    time: str | None = None
    message_id: str | None = None
    channel: str | None = None
    event: str | None = None
    delimiter: str | None = None
    encoding: str | None = None

    def over(self, base: MappingSpec) -> MappingSpec:
        """This spec laid over ``base``: lists add (a later column wins), texts replace."""
        return MappingSpec(
            maps=[*base.maps, *self.maps],
            kinds=[*base.kinds, *self.kinds],
            traits=[*base.traits, *self.traits],
            tags=[*base.tags, *self.tags],
            time=self.time or base.time,
            message_id=self.message_id or base.message_id,
            channel=self.channel or base.channel,
            event=self.event or base.event,
            delimiter=self.delimiter or base.delimiter,
            encoding=self.encoding or base.encoding,
        )

    def columns(self) -> set[str]:
        """The columns this spec reads itself (not those it takes a scope or kind from)."""
        specs = (*self.maps, *self.traits, *self.tags, (self.time or "").partition(":")[0])
        return {text.partition("=")[0].strip() for text in specs if text} - {""}


def parse_mapping(
    spec: MappingSpec, optional: Iterable[str] = (), strict: bool = True
) -> ImportMapping:
    """Read the command-line spellings into a mapping; every syntax problem at once.

    A later spec for the same column replaces an earlier one (so a preset can be
    overridden), and ``COLUMN=`` with nothing after ``=`` drops the column. ``optional``
    columns are left out when the file lacks them (:meth:`ImportMapping.fit`). Unless
    ``strict``, spelling problems are kept in the mapping for :meth:`ImportMapping.check`
    to report together with those of the header and the policy.

    >>> parse_mapping(MappingSpec(maps=["uid=login_id@app1", "uid=", "tel=phone"])).identifiers
    (IdentifierColumn(column='tel', kind=Source(text='phone'), scope=None),)
    >>> parse_mapping(MappingSpec(maps=["oops"], time="t:%Q"))
    Traceback (most recent call last):
    ...
    identity.errors.InvalidInput: the mapping has 2 problem(s)
    """
    problems: dict[str, str] = {}
    identifiers: dict[str, IdentifierColumn] = {}
    for text in spec.maps:
        column, target = _split(text, "=", "map", "write COLUMN=KIND[@SCOPE]", problems)
        if column is None:
            continue
        identifiers.pop(column, None)
        if target:
            kind, _, scope = target.partition("@")
            if not kind:
                problems[f"map.{column}"] = "write COLUMN=KIND[@SCOPE]"
                continue
            identifiers[column] = IdentifierColumn(column, Source(kind), _source(scope or None))
    mapping = ImportMapping(
        identifiers=tuple(identifiers.values()),
        kinds=_kind_tables(spec.kinds, problems),
        traits=_traits(spec.traits, problems),
        tags=tuple(dict.fromkeys(t.strip() for t in spec.tags if t.strip())),
        time=_time_column(spec.time, problems),
        message_id=spec.message_id or None,
        channel=_source(spec.channel),
        event=_source(spec.event),
        delimiter=_delimiter(spec.delimiter, problems),
        encoding=_encoding(spec.encoding, problems),
        optional=frozenset(optional),
        spelling=problems,
    )
    if problems and strict:
        raise InvalidInput(f"the mapping has {len(problems)} problem(s)", problems)
    return mapping


def _split(
    spec: str, sep: str, where: str, usage: str, problems: dict[str, str]
) -> tuple[str | None, str]:
    column, found, rest = spec.partition(sep)
    column = column.strip()
    if not found or not column:
        problems[f"{where}.{column or spec}"] = usage
        return None, ""
    return column, rest.strip()


def _kind_tables(specs: Iterable[str], problems: dict[str, str]) -> dict[str, dict[str, str]]:
    usage = "write COLUMN=VALUE:KIND,VALUE:KIND"
    tables: dict[str, dict[str, str]] = {}
    for spec in specs:
        column, rest = _split(spec, "=", "kinds", usage, problems)
        if column is None:
            continue
        table: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in rest.split(","))):
            value, found, kind = pair.partition(":")
            if not found or not value.strip() or not kind.strip():
                problems[f"kinds.{column}"] = usage
            table[value.strip().lower()] = kind.strip()
        tables[column] = table
    return tables


def _traits(specs: Iterable[str], problems: dict[str, str]) -> dict[str, str]:
    traits: dict[str, str] = {}
    for spec in specs:
        column, _, name = spec.partition("=")
        column, name = column.strip(), name.strip() or column.strip()
        if not column:
            problems[f"trait.{spec}"] = "write COLUMN[=TRAIT]"
        elif len(name) > 100:
            problems[f"trait.{column}"] = "a trait name has at most 100 characters"
        else:
            traits[column] = name
    return traits


def _time_column(spec: str | None, problems: dict[str, str]) -> TimeColumn | None:
    if not spec:
        return None
    column, _, time_format = spec.partition(":")
    time_format = time_format.strip() or "iso"
    problem = check_time_format(time_format)
    if not column.strip():
        problem = "write COLUMN[:FORMAT]"
    if problem:
        problems["time"] = problem
    return TimeColumn(column.strip(), time_format)


_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _delimiter(text: str | None, problems: dict[str, str]) -> str:
    """``,`` by default; one character, or ``tab`` (also ``\\t``), ``semicolon``, ``pipe``."""
    chosen = _DELIMITERS.get(text or ",", text or ",")
    if len(chosen) != 1 or chosen in '"\r\n':
        problems["delimiter"] = "one character, or tab, semicolon, pipe"
        return ","
    return chosen


_ASCII = "\n\r\t ,;|\"'{}[]:azAZ09"


def _encoding(text: str | None, problems: dict[str, str]) -> str:
    """A codec in which lines and delimiters are the ASCII bytes they are in UTF-8, so
    that a file can be split into lines and rows before it is decoded."""
    try:
        name = codecs.lookup(text or "utf-8").name
        if _ASCII.encode(name) == _ASCII.encode("ascii"):
            return name
    except (LookupError, ValueError):  # an unknown name, or one with a NUL in it
        pass
    problems["encoding"] = "an ASCII-compatible encoding, e.g. utf-8, gb18030, gbk, big5, latin-1"
    return "utf-8"


def _source(text: str | None) -> Source | None:
    return Source(text) if text else None
