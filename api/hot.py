"""The hot views' short way in: a well-formed JSON body skips webargs' parser and
flask-smorest's wrappers.

:func:`fast_body` goes between :func:`api.auth.requires` and ``blp.arguments(schema)``.
When the body is ``application/json``, decodes as UTF-8 JSON and passes the schema's
:meth:`~identity.documents.FastLoadSchema.fast_load` (which accepts only what the
fields accept and builds the same object), the view function is called with it
directly; any other body takes the whole decorated chain, so that webargs and
marshmallow word every error (400, 422, unknown fields) as before. The decorators stay
where they are, so the OpenAPI document does not change. The views it is used on
return a :class:`~flask.Response`, which flask-smorest would pass through unchanged.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, request

from identity.documents import FastLoadSchema

__all__ = ["fast_body"]

F = TypeVar("F", bound=Callable[..., Any])


def fast_body(schema: FastLoadSchema) -> Callable[[F], F]:
    """Call the undecorated view with ``schema.fast_load(body)`` when it accepts the
    body, else the decorated chain below (``schema`` is the one ``blp.arguments`` has)."""

    def decorate(chain: F) -> F:
        view = inspect.unwrap(chain)

        @wraps(chain)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            loaded = _loaded(schema)
            if loaded is None:
                return chain(*args, **kwargs)
            answer = view(*args, loaded, **kwargs)
            if not isinstance(answer, Response):  # flask-smorest would dump it
                raise TypeError(f"{view.__name__} must return a Response to be fast")
            return answer

        return wrapper  # type: ignore[return-value]

    return decorate


def _loaded(schema: FastLoadSchema) -> Any:
    """The body as ``schema`` loads it, or ``None`` to leave it to webargs."""
    if request.mimetype != "application/json":
        return None
    try:  # as webargs reads a JSON body: UTF-8, then json.loads
        body = json.loads(request.get_data(cache=True).decode("utf-8"))
    except ValueError:  # not UTF-8, not JSON: webargs answers it
        return None
    return schema.fast_load(body)
