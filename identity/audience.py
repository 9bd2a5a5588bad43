"""Audiences: who to reach, by tags, trait values, channels and recency.

Pure: an :class:`Audience` says what the persons must have; the store turns it into
indexed SQL. Pages are cut by an opaque cursor (the last person id of the page).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from identity.errors import InvalidInput

__all__ = ["Audience", "decode_cursor", "encode_cursor", "trait_text"]


@dataclass(frozen=True)
class Audience:
    """Every condition must hold (AND).

    ``traits`` pairs a trait name with the value's text: a string as is, anything else
    as JSON (``5``, ``true``). ``seen_since`` applies to the named ``channels``, or to any
    channel when none is named.
    """

    tags: tuple[str, ...] = ()
    traits: tuple[tuple[str, str], ...] = ()
    channels: tuple[str, ...] = ()
    seen_since: datetime | None = None

    @property
    def is_everyone(self) -> bool:
        return not (self.tags or self.traits or self.channels or self.seen_since)


def trait_text(value: object) -> str | None:
    """The text a trait value is searched by.

    >>> [trait_text(v) for v in ("gold", 5, 1.5, True, None)]
    ['gold', '5', '1.5', 'true', None]
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value[:255]
    return json.dumps(value)[:255]


def encode_cursor(person_id: str) -> str:
    """An opaque cursor that continues after ``person_id``.

    >>> decode_cursor(encode_cursor("p_01ABC"))
    'p_01ABC'
    """
    raw = json.dumps({"after": person_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput("invalid cursor", {"cursor": "not a cursor of this API"}) from None
    if not isinstance(after, str):
        raise InvalidInput("invalid cursor", {"cursor": "not a cursor of this API"})
    return after
