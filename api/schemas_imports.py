"""Schemas of imports: the upload's form fields, the status, the rejected rows."""

from __future__ import annotations

from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, post_load, validate

from api.schemas import StrictSchema
from identity.imports.presets import PRESETS
from identity.imports.readers import FORMATS
from identity.imports.rows import OUTCOMES
from identity.imports.spec import MappingSpec


def _spec(description: str = "") -> fields.String:
    return fields.String(validate=validate.Length(1, 2000), metadata={"description": description})


class ImportFormSchema(StrictSchema):
    """The mapping as form fields, spelt as on the command line; repeat a field for
    several values (``map=openid=wechat_openid@{appid}&map=phone=phone``)."""

    # The file part is read from ``request.files`` (streamed to disk); it is declared
    # here so that the OpenAPI document shows the whole multipart body.
    file = Upload(required=False, metadata={"description": "the CSV or JSON Lines export "
                                            "(required)"})  # fmt: skip

    preset = fields.String(validate=validate.OneOf(sorted(PRESETS)))
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "default: jsonl for .jsonl or .ndjson names, else csv"},
    )
    map = fields.List(_spec("COLUMN=KIND[@SCOPE]; {COLUMN} takes the kind or scope from "
                            "another column of the row"))  # fmt: skip
    kinds = fields.List(_spec("COLUMN=VALUE:KIND,VALUE:KIND"))
    trait = fields.List(_spec("COLUMN[=TRAIT]"))
    tag = fields.List(_spec("a column of tags split on | or ,"))
    time = _spec("COLUMN[:iso|epoch|epoch_ms|%-pattern]")
    message_id = _spec("a column of message ids")
    channel = _spec("a channel name or {COLUMN}")
    event = _spec("an event name or {COLUMN}")
    delimiter = _spec("the CSV delimiter: one character, or tab, semicolon, pipe (default ,)")
    encoding = _spec("the file's encoding: utf-8 (default), gb18030, gbk, big5, latin-1, ...")
    chunk_rows = fields.Integer(validate=validate.Range(1, 1_000_000))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        spec = MappingSpec(data.get("map", ()), data.get("kinds", ()), data.get("trait", ()),
                           data.get("tag", ()), data.get("time"), data.get("message_id"),
                           data.get("channel"), data.get("event"),
                           data.get("delimiter"), data.get("encoding"))  # fmt: skip
        return {"preset": data.get("preset"), "format": data.get("format"), "spec": spec,
                "chunk_rows": data.get("chunk_rows")}  # fmt: skip


class ImportStatusSchema(Schema):
    import_id = fields.String()
    status = fields.String(metadata={"enum": ["queued", "running", "done", "failed"]})
    filename = fields.String()
    format = fields.String()
    sha256 = fields.String(allow_none=True, metadata={"description": "of the file's bytes"})
    rows_done = fields.Integer(metadata={"description": "rows accounted for so far"})
    counts = fields.Dict(keys=fields.String(metadata={"enum": list(OUTCOMES)}),
                         values=fields.Integer())  # fmt: skip
    rows_per_second = fields.Float(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    duplicate_of = fields.String(
        allow_none=True, metadata={"description": "the earlier import of the same file and "
                                   "mapping; this one changed nothing"})  # fmt: skip
    checkpoint_line = fields.Integer(allow_none=True, metadata={"description": "the last line "
                                     "of the last committed chunk"})  # fmt: skip


class RejectsQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    cursor = fields.String(validate=validate.Length(1, 200))


class RejectSchema(Schema):
    line = fields.Integer(metadata={"description": "1-based; a CSV header is line 1"})
    reason = fields.String()


class RejectPageSchema(Schema):
    rejects = fields.List(fields.Nested(RejectSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "null on the last page"})
