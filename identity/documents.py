"""The observation document (the body of ``POST /v1/identify``, a line of a JSON Lines
export) as marshmallow schemas: the API and the import reader load it the same way.
Unknown fields are refused (marshmallow's ``RAISE``)."""

from __future__ import annotations

from datetime import UTC
from typing import Any, TypeGuard

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from identity.observation import Observation, RawIdentifier

__all__ = [
    "MAX_IDENTIFIERS",
    "FastLoadSchema",
    "IdentifierSchema",
    "ObservationSchema",
    "StrictSchema",
    "fast_identifiers",
    "flat_messages",
]

MAX_IDENTIFIERS = 50


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class IdentifierSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.Length(1, 40))
    scope = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, 100))
    value = fields.String(required=True, validate=validate.Length(max=255))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RawIdentifier:
        return RawIdentifier(data["kind"], data["value"], data["scope"])


class FastLoadSchema(StrictSchema):
    """A schema whose hot, well-formed bodies skip marshmallow's field machinery:
    :meth:`fast_load` accepts only what the fields accept and returns the same object,
    or ``None`` to let marshmallow decide (and word every error)."""

    def load(self, data: Any, **kwargs: Any) -> Any:
        fast = None if kwargs else self.fast_load(data)
        return fast if fast is not None else super().load(data, **kwargs)

    def fast_load(self, data: Any) -> Any:
        raise NotImplementedError


def fast_identifiers(items: Any) -> list[RawIdentifier] | None:
    """``identifiers`` as :class:`IdentifierSchema` loads them, or ``None``."""
    if type(items) is not list or not 1 <= len(items) <= MAX_IDENTIFIERS:
        return None
    loaded = []
    for item in items:
        if type(item) is not dict or not item.keys() <= _IDENTIFIER_FIELDS:
            return None
        kind, value, scope = item.get("kind"), item.get("value"), item.get("scope")
        if not _text(kind, 1, 40) or not _text(value, 0, 255):
            return None
        if scope is not None and not _text(scope, 0, 100):
            return None
        loaded.append(RawIdentifier(kind, value, scope))
    return loaded


def _text(value: Any, shortest: int, longest: int) -> TypeGuard[str]:
    return type(value) is str and shortest <= len(value) <= longest


_IDENTIFIER_FIELDS = frozenset(("kind", "scope", "value"))
_OBSERVATION_FIELDS = frozenset(
    ("identifiers", "message_id", "timestamp", "channel", "event", "traits", "tags")
)


class ObservationSchema(FastLoadSchema):
    identifiers = fields.List(
        fields.Nested(IdentifierSchema), required=True,
        validate=validate.Length(1, MAX_IDENTIFIERS),
    )  # fmt: skip
    message_id = fields.String(validate=validate.Length(1, 200))
    timestamp = fields.AwareDateTime(default_timezone=UTC)
    channel = fields.String(validate=validate.Length(1, 100))
    event = fields.String(validate=validate.Length(1, 100))
    traits = fields.Dict(keys=fields.String(validate=validate.Length(1, 100)),
                         values=fields.Raw(allow_none=True))  # fmt: skip
    tags = fields.List(fields.String(validate=validate.Length(1, 100)),
                       validate=validate.Length(max=100))  # fmt: skip

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Observation:
        return Observation(**data)

    def fast_load(self, data: Any) -> Observation | None:
        if type(data) is not dict or not data.keys() <= _OBSERVATION_FIELDS:
            return None
        identifiers = fast_identifiers(data["identifiers"]) if "identifiers" in data else None
        if identifiers is None:
            return None
        loaded: dict[str, Any] = {"identifiers": identifiers}
        for name, longest in (("message_id", 200), ("channel", 100), ("event", 100)):
            if name in data:
                if not _text(data[name], 1, longest):
                    return None
                loaded[name] = data[name]
        traits, tags = data.get("traits", {}), data.get("tags", [])
        if type(traits) is not dict or not all(_text(k, 1, 100) for k in traits):
            return None
        if type(tags) is not list or len(tags) > 100 or not all(_text(t, 1, 100) for t in tags):
            return None
        if "traits" in data:
            loaded["traits"] = dict(traits)
        if "tags" in data:
            loaded["tags"] = list(tags)
        if "timestamp" in data:
            try:
                loaded["timestamp"] = self.fields["timestamp"].deserialize(data["timestamp"])
            except ValidationError:
                return None
        return Observation(**loaded)


def flat_messages(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as one level of field paths.

    >>> flat_messages({"identifiers": {0: {"kind": ["Missing data."]}}, "x": ["Unknown."]})
    {'identifiers.0.kind': 'Missing data.', 'x': 'Unknown.'}
    """
    if isinstance(messages, dict):
        out: dict[str, str] = {}
        for key, value in messages.items():
            out.update(flat_messages(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)}
