"""Query arguments and answers of audience search, export and overlap.

Trait conditions arrive as ``trait.<name>=<value>`` keys, which no static schema can
list: a ``pre_load`` hook gathers them into ``traits``; every other unknown key is
still refused (422).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate
from webargs.fields import DelimitedList

from api.schemas import StrictSchema
from identity.audience import Audience

TRAIT_PREFIX = "trait."
_NAME = validate.Length(1, 100)


class SinceField(fields.Field[datetime]):
    """An ISO date (midnight UTC) or an ISO date-time (naive means UTC)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationError("not an ISO 8601 date or date-time") from None
        if len(str(value)) == 10:
            parsed = datetime.combine(date.fromisoformat(str(value)), time())
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class AudienceQuerySchema(StrictSchema):
    tag = fields.List(fields.String(validate=_NAME), metadata={"description": "repeatable"})
    channel = fields.List(fields.String(validate=_NAME), metadata={"description": "repeatable"})
    seen_since = SinceField(
        metadata={"description": "last seen in the named channels (or any) since this "
                  "date or date-time", "type": "string"}
    )  # fmt: skip
    traits = fields.Dict(
        keys=fields.String(validate=_NAME), values=fields.String(validate=validate.Length(max=255)),
        metadata={"description": "given as trait.<name>=<value> keys, e.g. "
                  "trait.membership_level=gold; numbers and booleans as JSON (5, true)"},
    )  # fmt: skip

    @pre_load
    def gather_traits(self, data: Any, **_: Any) -> dict[str, Any]:
        plain = {k: data[k] for k in data if not k.startswith(TRAIT_PREFIX) and k != "traits"}
        if "traits" in data:
            plain["traits!"] = data["traits"]  # refused as unknown: use trait.<name>
        traits = {k.removeprefix(TRAIT_PREFIX): data[k] for k in data if k.startswith(TRAIT_PREFIX)}
        if traits:
            plain["traits"] = traits
        return plain

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        audience = Audience(
            tags=tuple(dict.fromkeys(data.pop("tag", []))),
            traits=tuple(sorted(data.pop("traits", {}).items())),
            channels=tuple(dict.fromkeys(data.pop("channel", []))),
            seen_since=data.pop("seen_since", None),
        )
        return {"audience": audience, **data}


class SearchQuerySchema(AudienceQuerySchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 1000))
    cursor = fields.String(validate=validate.Length(1, 500))


class ExportQuerySchema(AudienceQuerySchema):
    format = fields.String(load_default="jsonl", validate=validate.OneOf(["csv", "jsonl"]))


class PersonSummarySchema(Schema):
    person_id = fields.String()
    traits = fields.Dict(keys=fields.String(), values=fields.Raw())
    tags = fields.List(fields.String())
    channels = fields.List(fields.String())
    last_seen = fields.DateTime(allow_none=True)


class PersonPageSchema(Schema):
    persons = fields.List(fields.Nested(PersonSummarySchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "null on the last page"})


class OverlapQuerySchema(StrictSchema):
    channels = DelimitedList(fields.String(validate=_NAME), required=True,
                             validate=validate.Length(1, 8))  # fmt: skip


class CombinationSchema(Schema):
    channels = fields.List(fields.String())
    persons = fields.Integer()


class OverlapSchema(Schema):
    channels = fields.List(fields.String())
    persons = fields.Integer(metadata={"description": "live persons seen in any of them"})
    per_channel = fields.Dict(keys=fields.String(), values=fields.Integer())
    combinations = fields.List(fields.Nested(CombinationSchema))
