"""The one error table: every error leaves as RFC 9457 problem details."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, json
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from identity import errors

__all__ = ["PROBLEM_CONTENT_TYPE", "STATUS", "ProblemSchema", "problem", "register_error_handlers"]

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[errors.DatabankError], int], ...] = (
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.StoreUnavailable, 503),
    (errors.ConcurrentChange, 503),
)
RETRY_AFTER_SECONDS = "1"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error answer is documented and sent."""

    type = fields.String(metadata={"example": "urn:databank:problem:observation-refused"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(
        keys=fields.String(), values=fields.Raw(),
        metadata={"description": "what was wrong, by field (e.g. identifiers.0)"},
    )  # fmt: skip


def problem(
    status: int,
    title: str,
    detail: str,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:databank:problem:{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = dict(errors)
    response = Response(json.dumps(body), status, mimetype=PROBLEM_CONTENT_TYPE)
    response.headers.update(headers or {})
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="databank"'
    return response


def handle_domain_error(error: errors.DatabankError) -> Response:
    status = next(code for cls, code in STATUS if isinstance(error, cls))
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    if status == 503:
        log.warning("store unavailable: %s", error.detail)
    return problem(status, error.title, error.detail, error.errors, headers)


def handle_http_exception(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    field_errors = _flatten(data.get("messages") or data.get("errors") or {})
    detail = error.description or error.name
    if field_errors:
        detail = "the request has invalid or unknown fields"
    headers = dict(data.get("headers") or {})
    return problem(error.code or 500, error.name, detail, field_errors, headers)


def handle_unexpected(error: Exception) -> Response:
    # Never put database text or input values in the answer; the log has the trace.
    log.exception("unhandled error")
    return problem(500, "Internal Server Error", "an unexpected error occurred")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(errors.DatabankError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """``{"json": {"identifiers": {0: {"kind": ["Missing"]}}}}`` ->
    ``{"identifiers.0.kind": "Missing"}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "form", "files", "headers", "view_args"):
                flat.update(_flatten(value, prefix))
            else:
                flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, list | tuple):
        return {prefix: " ".join(str(m) for m in messages)}
    return {prefix: str(messages)}
