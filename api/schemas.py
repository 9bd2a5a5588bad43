"""Marshmallow schemas: request bodies load into domain objects, answers dump from
documents. Unknown fields are refused (marshmallow's ``RAISE``)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate
from webargs.fields import DelimitedList

from identity.observation import Observation, RawIdentifier
from identity.services.persons import PROFILE_PARTS

MAX_IDENTIFIERS = 50
MAX_BATCH = 1000


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


class IdentifierOutSchema(Schema):
    kind = fields.String()
    scope = fields.String()
    value = fields.String()


class NoteSchema(IdentifierOutSchema):
    index = fields.Integer(metadata={"description": "position in the request; -1 if none"})
    reason = fields.String()


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


def _text(value: Any, shortest: int, longest: int) -> bool:
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


class BatchSchema(StrictSchema):
    observations = fields.List(fields.Dict(), required=True, validate=validate.Length(1, MAX_BATCH))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> list[Observation | dict[str, Any]]:
        """Each item loads on its own: a bad item becomes that item's error."""
        schema = ObservationSchema()
        items: list[Observation | dict[str, Any]] = []
        for item in data["observations"]:
            try:
                items.append(schema.load(item))
            except ValidationError as exc:
                items.append({"error": {"title": "Invalid observation",
                                        "detail": "the observation has invalid fields",
                                        "errors": _flat(exc.normalized_messages())}})  # fmt: skip
        return items


def _flat(messages: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(messages, dict):
        out: dict[str, str] = {}
        for key, value in messages.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)}


class IdentifyResultSchema(Schema):
    person_id = fields.String()
    outcome = fields.String(metadata={"enum": ["created", "matched", "merged"]})
    merged_person_ids = fields.List(fields.String())
    demoted = fields.List(fields.Nested(NoteSchema))
    ignored = fields.List(fields.Nested(NoteSchema))
    rejected = fields.List(fields.Nested(NoteSchema))


class ItemErrorSchema(Schema):
    title = fields.String()
    detail = fields.String()
    errors = fields.Dict()


class BatchItemSchema(IdentifyResultSchema):
    error = fields.Nested(ItemErrorSchema)


class BatchResultSchema(Schema):
    results = fields.List(fields.Nested(BatchItemSchema))


class ResolveSchema(FastLoadSchema):
    identifiers = fields.List(
        fields.Nested(IdentifierSchema), required=True,
        validate=validate.Length(1, MAX_IDENTIFIERS),
    )  # fmt: skip

    def fast_load(self, data: Any) -> dict[str, list[RawIdentifier]] | None:
        if type(data) is not dict or data.keys() != {"identifiers"}:
            return None
        identifiers = fast_identifiers(data["identifiers"])
        return None if identifiers is None else {"identifiers": identifiers}


class ResolveResultSchema(Schema):
    person_id = fields.String()
    matched = fields.Nested(IdentifierOutSchema)


class SeenSchema(Schema):
    count = fields.Integer()
    first_seen = fields.DateTime()
    last_seen = fields.DateTime()


class TraitSchema(Schema):
    value = fields.Raw()
    updated_at = fields.DateTime()
    source = fields.String(allow_none=True)


class PersonIdentifierSchema(IdentifierOutSchema):
    first_seen = fields.DateTime()
    last_seen = fields.DateTime()


class ActivitySchema(Schema):
    timezone = fields.String()
    hours = fields.List(fields.Integer(), metadata={"description": "observations per hour"})
    peak_hours = fields.List(fields.Integer())


class PersonSchema(Schema):
    person_id = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    aliases = fields.List(fields.String())
    identifiers = fields.List(fields.Nested(PersonIdentifierSchema))
    traits = fields.Dict(keys=fields.String(), values=fields.Nested(TraitSchema))
    tags = fields.Dict(keys=fields.String(), values=fields.Nested(SeenSchema))
    channels = fields.Dict(keys=fields.String(), values=fields.Nested(SeenSchema))
    activity = fields.Nested(ActivitySchema)


class PersonQuerySchema(StrictSchema):
    include = DelimitedList(
        fields.String(validate=validate.OneOf(PROFILE_PARTS)),
        metadata={"description": f"comma-separated parts: {', '.join(PROFILE_PARTS)}"},
    )


class PolicySchema(StrictSchema):
    """The whole policy document; the domain validates it and reports every problem."""

    kinds = fields.Dict(keys=fields.String(), values=fields.Dict())
    blocked_values = fields.List(fields.String())
    blocked_patterns = fields.List(fields.String())
    traits = fields.Dict(keys=fields.String(), values=fields.Dict())
    timezone = fields.String()
    phone_region = fields.String()
