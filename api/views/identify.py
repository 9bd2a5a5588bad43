"""Ingest and resolve: the online hot paths."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint

from api.auth import SECURITY, principal, requires
from api.hot import fast_body
from api.schemas import (
    BatchResultSchema,
    BatchSchema,
    IdentifyResultSchema,
    ObservationSchema,
    ResolveResultSchema,
    ResolveSchema,
)
from api.state import store
from identity.observation import Observation, RawIdentifier
from identity.services import identify as identify_service
from identity.services import persons as person_service

blp = Blueprint("identify", __name__, url_prefix="/v1", description="Ingest and resolve")
OBSERVATION, RESOLVE = ObservationSchema(), ResolveSchema()


@blp.route("/identify", methods=["POST"])
@requires("ingest")
@fast_body(OBSERVATION)
@blp.arguments(OBSERVATION)
@blp.response(200, IdentifyResultSchema)
@blp.doc(security=SECURITY)
def identify(observation: Observation) -> Response:
    """Resolve one observation to a person (created, matched or merged)."""
    who = principal()
    return as_json(identify_service.identify(store(), who.workspace, observation, who.trigger))


@blp.route("/identify/batch", methods=["POST"])
@requires("ingest")
@blp.arguments(BatchSchema())
@blp.response(200, BatchResultSchema)
@blp.doc(security=SECURITY)
def identify_batch(items: list[Observation | dict[str, Any]]) -> dict[str, Any]:
    """Identify up to 1000 observations in order; each gets a result or its own error."""
    who = principal()
    results = [item if isinstance(item, dict) else None for item in items]
    valid = [item for item in items if isinstance(item, Observation)]
    answers = iter(identify_service.identify_many(store(), who.workspace, valid, who.trigger))
    return {"results": [r if r is not None else next(answers) for r in results]}


@blp.route("/resolve", methods=["POST"])
@requires("read")
@fast_body(RESOLVE)
@blp.arguments(RESOLVE)
@blp.response(200, ResolveResultSchema)
@blp.doc(security=SECURITY)
def resolve(body: dict[str, list[RawIdentifier]]) -> Response:
    """The person of the strongest known identifier; 404 if none is known."""
    return as_json(person_service.resolve(store(), principal().workspace, body["identifiers"]))


def as_json(document: dict[str, Any]) -> Response:
    """The answer as it is: the services return the documented shape, so the hot paths
    skip the response schema's dump (flask-smorest passes a Response through)."""
    return current_app.json.response(document)  # type: ignore[no-any-return]
