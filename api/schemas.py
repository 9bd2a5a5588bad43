"""Marshmallow schemas: request bodies load into domain objects, answers dump from
documents. Unknown fields are refused (marshmallow's ``RAISE``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate
from webargs.fields import DelimitedList

from identity.documents import MAX_IDENTIFIERS as MAX_IDENTIFIERS
from identity.documents import FastLoadSchema, fast_identifiers, flat_messages
from identity.documents import IdentifierSchema as IdentifierSchema
from identity.documents import ObservationSchema as ObservationSchema
from identity.documents import StrictSchema as StrictSchema
from identity.observation import Observation, RawIdentifier
from identity.services.persons import PROFILE_PARTS

MAX_BATCH = 1000


class IdentifierOutSchema(Schema):
    kind = fields.String()
    scope = fields.String()
    value = fields.String()


class NoteSchema(IdentifierOutSchema):
    index = fields.Integer(metadata={"description": "position in the request; -1 if none"})
    reason = fields.String()


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
                errors = flat_messages(exc.normalized_messages())
                items.append({"error": {"title": "Invalid observation",
                                        "detail": "the observation has invalid fields",
                                        "errors": errors}})  # fmt: skip
        return items


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
