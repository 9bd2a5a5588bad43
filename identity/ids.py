"""Time-ordered random ids (ULID layout): sortable by creation, made without the store."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id"]

_lock = threading.Lock()
_last = 0

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def new_id(prefix: str = "", at_ms: int | None = None) -> str:
    """A 26-character id whose first 10 characters encode the time in milliseconds;
    ids made by one process increase strictly.

    >>> a, b = new_id("p_", at_ms=1), new_id("p_", at_ms=2)
    >>> a < b, len(a)
    (True, 28)
    """
    global _last
    ms = int(time.time() * 1000) if at_ms is None else at_ms
    number = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    with _lock:  # monotonic within a process, so creation order is id order
        if number <= _last and at_ms is None:
            number = _last + 1
        _last = number
    chars = []
    for _ in range(26):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return prefix + "".join(reversed(chars))
