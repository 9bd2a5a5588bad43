"""Timestamp columns: ISO 8601, epoch seconds or milliseconds, or a strptime pattern.

Times without a zone are read as UTC, as the API reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["TIME_FORMATS", "check_time_format", "describe", "time_parser"]

TIME_FORMATS = {
    "iso": "ISO 8601, e.g. 2024-05-01T08:30:00+08:00",
    "epoch": "seconds since 1970-01-01 UTC",
    "epoch_ms": "milliseconds since 1970-01-01 UTC",
}


def check_time_format(time_format: str) -> str | None:
    """What is wrong with a format name or strptime pattern, or ``None``.

    >>> check_time_format("epoch_ms") is None, check_time_format("%Y-%m-%d %H:%M") is None
    (True, True)
    >>> check_time_format("%Q")
    "bad strptime pattern: 'Q' is a bad directive in format '%Q'"
    """
    if time_format in TIME_FORMATS:
        return None
    if "%" not in time_format:
        return f"unknown time format {time_format!r}: {', '.join(TIME_FORMATS)} or a %-pattern"
    try:
        sample = datetime(2001, 2, 3, 4, 5, 6)
        datetime.strptime(sample.strftime(time_format), time_format)
    except ValueError as exc:
        return f"bad strptime pattern: {exc}"
    return None


def describe(time_format: str) -> str:
    return TIME_FORMATS.get(time_format, f"the pattern {time_format}")


def time_parser(time_format: str) -> Callable[[str], datetime]:
    """A function from a cell to an aware datetime; it raises ``ValueError``.

    >>> time_parser("epoch_ms")("1714552200000").isoformat()
    '2024-05-01T08:30:00+00:00'
    >>> time_parser("iso")("2024-05-01 16:30:00+08:00").isoformat()
    '2024-05-01T16:30:00+08:00'
    >>> time_parser("%d/%m/%Y %H:%M")("01/05/2024 08:30").isoformat()
    '2024-05-01T08:30:00+00:00'
    """
    if time_format == "iso":
        return _iso
    if time_format in ("epoch", "epoch_ms"):
        scale = 1000.0 if time_format == "epoch_ms" else 1.0
        return lambda text: _from_epoch(float(text) / scale)
    return lambda text: _aware(datetime.strptime(text.strip(), time_format))


def _iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip())  # the commonest format, spelt out
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _from_epoch(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError("out of range") from exc
