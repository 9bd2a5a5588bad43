"""Plain CSV lines: those that ``str.split`` reads exactly as the csv module does, so
that most of a file is split without it.

A line is *plain* when the csv module reads it as one record whose fields are the line
cut at the delimiter: it decodes, holds no carriage return other than the one of a
``\\r\\n`` ending, is well under the csv module's field limit (and so under the readers'
line limit), and each of its pieces between delimiters either holds no quote character
or is one quoted field with no quote inside (``"abc"``, as exports that quote every
field write them; the field is the piece without its quotes). A line that is one whole
record with quoted delimiters or doubled quotes inside (``"Doe, John","say ""hi"" x"``) is
split by the csv module alone and read with the plain lines. Any other line (a quoted
field with a line end inside, a quote where a field does not start with one, bad
bytes, an overlong line) is left to the csv module reading the file from it,
which names what is wrong with it.
"""

from __future__ import annotations

import codecs
import csv
import functools
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import IO

__all__ = ["BLOCK_BYTES", "Block", "read_block", "scan_block", "splits_like_bytes"]

BLOCK_BYTES = 1 << 20
LINE_LIMIT = 1 << 17  # bytes; a longer line is left to the csv module

#: Codecs without state in which a byte ``\n`` is always the character ``\n`` (never
#: part of another character), so that a block decodes as its lines one by one do.
_SPLITTABLE = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252", "gb18030", "gbk", "big5"})
_LONE_CR = re.compile(r"\r(?!\n)")


def splits_like_bytes(encoding: str) -> bool:
    """Whether a block in ``encoding`` can be decoded whole and then split into lines.

    >>> splits_like_bytes("UTF8"), splits_like_bytes("GB18030"), splits_like_bytes("utf-16")
    (True, True, False)
    """
    try:
        return codecs.lookup(encoding).name in _SPLITTABLE
    except LookupError:
        return False


def read_block(handle: IO[bytes]) -> bytes:
    """Up to ``BLOCK_BYTES`` from the handle's position, cut after their last line end
    unless the file ends within them; empty at the end of the file, and when the next
    line is longer than a block."""
    size = BLOCK_BYTES
    data = handle.read(size)
    if len(data) < size:
        return data
    return data[: data.rfind(b"\n") + 1]


@dataclass(frozen=True, slots=True)
class Block:
    """The lines of a block of bytes: their text without the line ending (left empty
    for a line that does not decode), the byte count from the block's start to each
    line's end, which lines are not plain, in order, and the fields of the plain lines
    with quoted fields."""

    texts: list[str]
    ends: list[int]
    not_plain: list[int]
    #: the fields of the plain lines with quoted fields, by line
    quoted: dict[int, list[str]]


def scan_block(data: bytes, encoding: str, delimiter: str = ",") -> Block:
    """The lines of ``data`` (whole lines; the last one may lack its line end at the end
    of the file) in an encoding that :func:`splits_like_bytes`.

    >>> block = scan_block(b'a,b\\r\\n\\ne,"f\\nc,d\\n"g","",h', "utf-8")
    >>> block.texts, block.ends, block.not_plain, block.quoted
    (['a,b', '', 'e,"f', 'c,d', '"g","",h'], [5, 6, 11, 15, 23], [2], {4: ['g', '', 'h']})
    """
    raws = data.split(b"\n")
    ends = list(accumulate(map((1).__add__, map(len, raws))))  # each line and its b"\n"
    if raws[-1] == b"":
        raws.pop()
        ends.pop()
    elif ends:
        ends[-1] -= 1  # the last line of the file, without a line end
    text, undecoded = _decoded(data, raws, encoding)
    crs = text.count("\r")
    crlfs = text.count("\r\n") if crs else 0
    flagged = _quoted_or_broken(text, crs != crlfs)
    not_plain = set(undecoded).union(flagged)
    limit = min(csv.field_size_limit(), LINE_LIMIT)
    if max(map(len, raws), default=0) >= limit:
        not_plain.update(number for number, raw in enumerate(raws) if len(raw) >= limit)
    if not crs:
        texts = text.split("\n")
    elif crs == crlfs == text.count("\n"):  # every line ends in \r\n
        texts = text.split("\r\n")
    else:
        texts = text.replace("\r\n", "\n").split("\n")
    quoted = {}
    if delimiter != '"':
        whole: list[int] = []  # lines that are one record with quoted delimiters or quotes
        record = _record(delimiter)
        for number in flagged:  # decoded, with a quote or a lone carriage return
            line = texts[number]
            if len(raws[number]) < limit and "\r" not in line:
                fields = _simply_quoted(line, delimiter)
                if fields is not None:
                    quoted[number] = fields
                    not_plain.discard(number)
                elif record.fullmatch(line):
                    whole.append(number)
        records = csv.reader([texts[number] for number in whole], delimiter=delimiter)
        for number, fields in zip(whole, records, strict=True):
            quoted[number] = fields
            not_plain.discard(number)
    return Block(texts[: len(raws)], ends, sorted(not_plain), quoted)


@functools.cache
def _record(delimiter: str) -> re.Pattern[str]:
    """A line that is one whole CSV record: each field quoted (a doubled quote inside for
    a quote; delimiters inside) or not starting with a quote (then its quotes are text).
    The csv module reads such a line alone as it reads it in the file, where it starts a
    record, since it ends outside any quoted field.

    >>> whole = _record(",").fullmatch
    >>> bool(whole('a,"b, ""c"" d",e"f,')), bool(whole('a,"b')), bool(whole('"a"b'))
    (True, False, False)
    """
    d = re.escape(delimiter)
    field = f'(?:"(?:[^"]|"")*"|[^"{d}][^{d}]*|)'
    return re.compile(f"{field}(?:{d}{field})*")


def _simply_quoted(line: str, delimiter: str) -> list[str] | None:
    """The fields of ``line`` if each piece between delimiters holds no quote or is one
    quoted field with no quote inside (what the csv module reads as the piece without its
    quotes), else ``None``.

    >>> _simply_quoted('"a","",b', ","), _simply_quoted('"a,b"', ","), _simply_quoted('"a""b"', ",")
    (['a', '', 'b'], None, None)
    """
    fields = line.split(delimiter)
    for number, piece in enumerate(fields):
        if '"' in piece:
            if len(piece) < 2 or piece[0] != '"' or piece[-1] != '"' or '"' in piece[1:-1]:
                return None
            fields[number] = piece[1:-1]
    return fields


def _decoded(data: bytes, raws: list[bytes], encoding: str) -> tuple[str, list[int]]:
    """The block's text, and the lines that do not decode (left empty in the text). A
    block decodes in one go unless it has bad bytes; then the lines from the one with
    the first bad byte on decode one by one."""
    try:
        return data.decode(encoding), []
    except UnicodeDecodeError as exc:
        bad = exc.start
    good = data.count(b"\n", 0, bad)  # the lines before the one with the first bad byte
    texts = [data[: data.rfind(b"\n", 0, bad)].decode(encoding)] if good else []
    undecoded = []
    for number in range(good, len(raws)):
        try:
            texts.append(raws[number].decode(encoding))
        except UnicodeDecodeError:
            texts.append("")
            undecoded.append(number)
    return "\n".join(texts), undecoded


def _quoted_or_broken(text: str, lone_crs: bool) -> list[int]:
    """The lines with a quote character or (if ``lone_crs``) a carriage return that does
    not end them."""
    lone = [match.start() for match in _LONE_CR.finditer(text)] if lone_crs else []
    lone.append(len(text))
    found: list[int] = []
    line = start = next_lone = 0  # lines from ``start`` on are not looked at yet
    while True:
        while lone[next_lone] < start:
            next_lone += 1
        quote = text.find('"', start)
        hit = min(quote, lone[next_lone]) if quote >= 0 else lone[next_lone]
        if hit == len(text):
            return found
        line += text.count("\n", start, hit)
        found.append(line)
        start = text.find("\n", hit) + 1
        if not start:
            return found
        line += 1
