"""Schemas of the operator's kit: graph, explain, repairs, history and quality."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import MAX_IDENTIFIERS, IdentifierOutSchema, IdentifierSchema, StrictSchema
from identity.services.graph_ops import MAX_GRAPH_NODES

REASON = fields.String(
    validate=validate.Length(1, 500),
    metadata={"description": "why the operator acts; kept in the history"},
)


class GraphQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=500, validate=validate.Range(1, MAX_GRAPH_NODES))


class NodeSchema(IdentifierOutSchema):
    id = fields.String(metadata={"description": "kind[@scope]:value; edges refer to it"})
    first_seen = fields.DateTime()
    last_seen = fields.DateTime()


class EdgeSchema(Schema):
    source = fields.String()
    target = fields.String()
    link_id = fields.Integer()
    first_seen = fields.DateTime()
    last_seen = fields.DateTime()
    count = fields.Integer(metadata={"description": "observations that joined the two"})
    channels = fields.List(fields.String())
    first_message_id = fields.String(
        allow_none=True,
        metadata={"description": "the first message; operator:key:<prefix> for a merge"},
    )


class GraphSchema(Schema):
    person_id = fields.String()
    truncated = fields.Boolean(metadata={"description": "true when nodes were left out"})
    total_nodes = fields.Integer()
    total_edges = fields.Integer()
    nodes = fields.List(fields.Nested(NodeSchema))
    edges = fields.List(fields.Nested(EdgeSchema))


class ExplainSchema(StrictSchema):
    source = fields.Nested(IdentifierSchema, required=True, data_key="from")
    target = fields.Nested(IdentifierSchema, required=True, data_key="to")


class ExplanationSchema(Schema):
    person_id = fields.String()
    source = fields.Nested(IdentifierOutSchema, attribute="from", data_key="from")
    target = fields.Nested(IdentifierOutSchema, attribute="to", data_key="to")
    links = fields.List(fields.Nested(EdgeSchema))


class SplitSchema(StrictSchema):
    identifiers = fields.List(
        fields.Nested(IdentifierSchema), required=True,
        validate=validate.Length(1, MAX_IDENTIFIERS),
    )  # fmt: skip
    reason = REASON


class SplitResultSchema(Schema):
    person_id = fields.String()
    new_person_id = fields.String()
    links_cut = fields.Integer()
    identifiers = fields.List(fields.Nested(IdentifierOutSchema))


class MergeSchema(StrictSchema):
    person_ids = fields.List(
        fields.String(validate=validate.Length(1, 40)), required=True,
        validate=validate.Length(2, 100),
    )  # fmt: skip
    force = fields.Boolean(load_default=False)
    reason = REASON


class MergeResultSchema(Schema):
    person_id = fields.String(metadata={"description": "the survivor (the oldest person)"})
    merged_person_ids = fields.List(fields.String())
    broken_limits = fields.Dict(keys=fields.String(), values=fields.String())


class UnbindSchema(StrictSchema):
    identifier = fields.Nested(IdentifierSchema, required=True)
    reason = REASON


class UnbindResultSchema(Schema):
    person_id = fields.String()
    identifier = fields.Nested(IdentifierOutSchema)
    links_removed = fields.Integer()


class EraseQuerySchema(StrictSchema):
    dry_run = fields.Boolean(load_default=False)
    follow_alias = fields.Boolean(
        load_default=False,
        metadata={"description": "an alias id erases its survivor only when true"},
    )
    reason = REASON


class ErasureSchema(Schema):
    person_id = fields.String()
    dry_run = fields.Boolean()
    aliases = fields.List(fields.String())
    identifiers = fields.Integer()
    links = fields.Integer()
    traits = fields.Integer()
    tags = fields.Integer()
    channels = fields.Integer()
    history = fields.Integer()
    messages = fields.Integer()
    suppressions = fields.Integer()


class HistoryQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    cursor = fields.Integer(validate=validate.Range(1, 2**63 - 1))  # a 64-bit row id


class HistoryEntrySchema(Schema):
    id = fields.Integer()
    person_id = fields.String()
    at = fields.DateTime()
    action = fields.String(
        metadata={"enum": ["create", "attach", "merge", "demote", "split", "unbind", "erase"]}
    )
    trigger = fields.String(metadata={"description": "message:<id>, import:<id> or key:<prefix>"})
    reason = fields.String()
    details = fields.Dict(allow_none=True)


class HistorySchema(Schema):
    person_id = fields.String()
    items = fields.List(fields.Nested(HistoryEntrySchema))
    next_cursor = fields.String(allow_none=True)


class QualityQuerySchema(StrictSchema):
    top = fields.Integer(load_default=10, validate=validate.Range(1, 100))
    scan = fields.Integer(
        load_default=200,
        validate=validate.Range(1, 5000),
        metadata={"description": "how many of the largest persons to look for bridges in"},
    )


class SizeBucketSchema(Schema):
    size = fields.String(metadata={"description": "identifiers per person"})
    persons = fields.Integer()


class PersonSizeSchema(Schema):
    person_id = fields.String()
    identifiers = fields.Integer()


class JunkCandidateSchema(IdentifierOutSchema):
    reason = fields.String(metadata={"enum": ["demoted", "blocked"]})
    count = fields.Integer()
    last_at = fields.DateTime()


class BridgePersonSchema(PersonSizeSchema):
    bridge_identifiers = fields.List(fields.Nested(IdentifierOutSchema))


class BridgesSchema(Schema):
    scanned = fields.Integer()
    persons = fields.List(fields.Nested(BridgePersonSchema))


class QualitySchema(Schema):
    persons = fields.Integer()
    identifiers = fields.Integer()
    size_distribution = fields.List(fields.Nested(SizeBucketSchema))
    largest = fields.List(fields.Nested(PersonSizeSchema))
    junk_candidates = fields.List(fields.Nested(JunkCandidateSchema))
    demotions_by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())
    blocked_by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())
    bridges = fields.Nested(BridgesSchema)
