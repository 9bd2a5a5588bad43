"""Plain CSV lines: those that ``str.split`` reads exactly as the csv module does, so
that most of a file is split without it.

A line is *plain* when the csv module reads it as one record whose fields are the line
cut at the delimiter: it decodes, holds no quote character and no carriage return other
than the one of a ``\\r\\n`` ending, and is well under the csv module's field limit (and
so under the readers' line limit). Any other line (a quoted field, which may run over
several lines, bad bytes, an overlong line) is left to the csv module, which names what
is wrong with it.
"""

from __future__ import annotations

import codecs
import csv
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
    line's end, and which lines are not plain, in order."""

    texts: list[str]
    ends: list[int]
    not_plain: list[int]


def scan_block(data: bytes, encoding: str) -> Block:
    """The lines of ``data`` (whole lines; the last one may lack its line end at the end
    of the file) in an encoding that :func:`splits_like_bytes`.

    >>> block = scan_block(b'a,b\\r\\n\\ne,"f\\nc,d', "utf-8")
    >>> block.texts, block.ends, block.not_plain
    (['a,b', '', 'e,"f', 'c,d'], [5, 6, 11, 14], [2])
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
    not_plain = set(undecoded).union(_quoted_or_broken(text, crs != crlfs))
    limit = min(csv.field_size_limit(), LINE_LIMIT)
    if max(map(len, raws), default=0) >= limit:
        not_plain.update(number for number, raw in enumerate(raws) if len(raw) >= limit)
    if not crs:
        texts = text.split("\n")
    elif crs == crlfs == text.count("\n"):  # every line ends in \r\n
        texts = text.split("\r\n")
    else:
        texts = text.replace("\r\n", "\n").split("\n")
    return Block(texts[: len(raws)], ends, sorted(not_plain))


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
