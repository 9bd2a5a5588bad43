"""Observations and their screening: which identifiers are kept, ignored or rejected."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from identity.errors import InvalidInput, ObservationRefused
from identity.identifiers import Identifier
from identity.normalise import KeyedHasher
from identity.policy import Policy

__all__ = [
    "IdentifierNote",
    "Observation",
    "RawIdentifier",
    "Screened",
    "ScreeningMemory",
    "check_traits",
    "screen",
    "screen_one",
    "screened_from",
]


@dataclass(frozen=True, slots=True)
class RawIdentifier:
    """An identifier as it arrived, before normalisation."""

    kind: str
    value: str
    scope: str | None = None


@dataclass(frozen=True)
class Observation:
    """Identifiers seen together, with what was learnt about their person."""

    identifiers: Sequence[RawIdentifier]
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    message_id: str | None = None
    channel: str | None = None
    event: str | None = None
    traits: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()

    @classmethod
    def of(
        cls,
        identifiers: Sequence[RawIdentifier],
        timestamp: datetime,
        message_id: str | None,
        channel: str | None,
        event: str | None,
        traits: Mapping[str, Any],
        tags: Sequence[str],
    ) -> Observation:
        """``Observation(...)`` with every field given, made in a third of the time (the
        frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``):
        for readers, which make one per row of a file.

        >>> at = datetime(2026, 1, 1, tzinfo=UTC)
        >>> Observation.of([], at, None, "app", None, {}, ()) == Observation([], at, channel="app")
        True
        """
        made = _new(cls)
        _set(made, "__dict__", {"identifiers": identifiers, "timestamp": timestamp,
                                "message_id": message_id, "channel": channel, "event": event,
                                "traits": traits, "tags": tags})  # fmt: skip
        return made


_new, _set = object.__new__, object.__setattr__


@dataclass(frozen=True, slots=True)
class IdentifierNote:
    """Why an identifier of an observation was not used. ``value`` is ``None`` where
    showing it would leak personal data."""

    index: int
    kind: str
    scope: str
    value: str | None
    reason: str

    def as_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"index": self.index, "kind": self.kind}
        if self.scope:
            document["scope"] = self.scope
        if self.value is not None:
            document["value"] = self.value
        document["reason"] = self.reason
        return document


@dataclass
class Screened:
    accepted: list[Identifier] = field(default_factory=list)
    ignored: list[IdentifierNote] = field(default_factory=list)
    rejected: list[IdentifierNote] = field(default_factory=list)

    def refuse_if_empty(self) -> None:
        """Step 1 of the rules: nothing left is a clear error naming each identifier."""
        if self.accepted:
            return
        notes = sorted(self.ignored + self.rejected, key=lambda n: n.index)
        raise ObservationRefused(
            "no usable identifier in the observation",
            {f"identifiers.{n.index}": f"{n.kind}: {n.reason}" for n in notes},
        )


def screen(
    raw: Sequence[RawIdentifier],
    policy: Policy,
    hasher: KeyedHasher,
    suppressed: Callable[[Identifier], bool] | None = None,
) -> Screened:
    """Normalise and validate an observation's identifiers (rule 1 of SPEC section 3).

    >>> from identity.policy import default_policy
    >>> s = screen([RawIdentifier("idfa", "00000000-0000-0000-0000-000000000000"),
    ...             RawIdentifier("login_id", " u1 ", "app")],
    ...            default_policy(), KeyedHasher(b"0" * 16))
    >>> [str(i) for i in s.accepted], [n.reason for n in s.ignored]
    (['login_id@app:u1'], ['blocked value'])
    """
    outcomes: list[Identifier | IdentifierNote] = []
    remembered = _online.outcomes(policy, hasher)
    for index, item in enumerate(raw):
        key = (item.kind, item.value, item.scope)
        outcome = remembered.get(key)
        if outcome is None:
            outcome = remembered[key] = screen_one(0, item, policy, hasher)
        if suppressed is not None and isinstance(outcome, Identifier) and suppressed(outcome):
            outcome = _note(index, item, policy, "suppressed")
        outcomes.append(outcome)
    return screened_from(outcomes)


RawKey = tuple[str, str, str | None]  # a raw identifier's kind, value and scope


class ScreeningMemory(threading.local):
    """What :func:`screen_one` gave for each raw identifier (as at index 0), kept per
    thread for the next observation that names it under the same policy and secret: a
    returning user's phone is parsed and hashed once, not at every request. Forgotten
    when the workspace's policy or the secret is another object (a policy change makes
    a new one), and all at once when more than ``limit`` are kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.key: tuple[Policy, KeyedHasher] | None = None
        self.remembered: dict[RawKey, Identifier | IdentifierNote] = {}

    def outcomes(
        self, policy: Policy, hasher: KeyedHasher
    ) -> dict[RawKey, Identifier | IdentifierNote]:
        """The outcomes remembered under ``policy`` and ``hasher``, to read and add to."""
        key = self.key
        if key is None or key[0] is not policy or key[1] is not hasher:
            self.key, self.remembered = (policy, hasher), {}
        elif len(self.remembered) > self.limit:
            self.remembered = {}
        return self.remembered


#: The online paths' memory: up to 20,000 identifiers per thread, about 270 bytes each
#: (5 MB; a gunicorn worker of ``databank serve`` has two threads).
_online = ScreeningMemory(20_000)


def screened_from(outcomes: Sequence[Identifier | IdentifierNote]) -> Screened:
    """An observation's screening from its identifiers screened one by one, in order: a
    note takes its position as index; blocked and suppressed values are ignored, other
    notes rejected; a repeated identifier counts once."""
    screened = Screened()
    seen: set[Identifier] = set()
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, IdentifierNote):
            note = outcome if outcome.index == index else replace(outcome, index=index)
            ignored = note.reason in ("blocked value", "suppressed")
            (screened.ignored if ignored else screened.rejected).append(note)
        elif outcome not in seen:
            seen.add(outcome)
            screened.accepted.append(outcome)
    return screened


def screen_one(
    index: int, item: RawIdentifier, policy: Policy, hasher: KeyedHasher
) -> Identifier | IdentifierNote:
    """One raw identifier: its stored form, or the note saying why it is not used."""
    rule = policy.kinds.get(item.kind)
    if rule is None:
        return _note(index, item, policy, "unknown kind")
    scope = (item.scope or "").strip()
    if rule.scoped and not scope:
        return _note(index, item, policy, f"kind {item.kind} needs a scope ({rule.scope} id)")
    if not rule.scoped and scope:
        return _note(index, item, policy, f"kind {item.kind} takes no scope")
    if policy.is_blocked(item.value):
        return _note(index, item, policy, "blocked value")
    try:
        value = policy.normaliser_for(item.kind)(item.value)
    except ValueError as exc:
        return _note(index, item, policy, str(exc))
    if policy.is_blocked(value):
        return _note(index, item, policy, "blocked value")
    if rule.personal:
        value = hasher.hash(value)
    return Identifier(item.kind, scope, value)


def _note(index: int, item: RawIdentifier, policy: Policy, reason: str) -> IdentifierNote:
    rule = policy.kinds.get(item.kind)
    # A kind the policy does not know may still carry an email or a phone number.
    shown = None if rule is None or rule.personal else item.value
    return IdentifierNote(index, item.kind, (item.scope or "").strip(), shown, reason)


def check_traits(traits: Mapping[str, Any], policy: Policy) -> None:
    """Trait values are scalars; a ``sum`` or ``max`` trait needs a number.

    >>> from identity.policy import default_policy
    >>> check_traits({"membership_level": "gold", "points": 3}, default_policy())
    >>> check_traits({"x": [1]}, default_policy())
    Traceback (most recent call last):
    ...
    identity.errors.InvalidInput: invalid traits
    """
    errors = {}
    for name, value in traits.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            errors[f"traits.{name}"] = "must be a string, number, boolean or null"
        elif isinstance(value, float) and not math.isfinite(value):
            errors[f"traits.{name}"] = "must be a finite number"
        elif policy.trait_merge(name) == "sum" and not _is_number(value):
            errors[f"traits.{name}"] = "must be a number (this trait is summed)"
    if errors:
        raise InvalidInput("invalid traits", errors)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
