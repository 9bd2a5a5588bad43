"""The observation document (the body of ``POST /v1/identify``, a line of a JSON Lines
export) as marshmallow schemas: the API and the import reader load it the same way.
Unknown fields are refused (marshmallow's ``RAISE``)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import RAISE, Schema, fields, post_load, validate

from identity.observation import Observation, RawIdentifier

__all__ = [
    "MAX_IDENTIFIERS",
    "IdentifierSchema",
    "ObservationSchema",
    "StrictSchema",
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


class ObservationSchema(StrictSchema):
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
