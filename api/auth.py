"""Bearer API keys: one workspace each, with scopes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from identity.services.workspaces import Principal, Workspaces

__all__ = ["SECURITY", "principal", "requires", "workspaces"]

F = TypeVar("F", bound=Callable[..., Any])
SECURITY = [{"bearerAuth": []}]


def workspaces() -> Workspaces:
    return current_app.extensions["databank"].workspaces  # type: ignore[no-any-return]


def requires(scope: str, *alternatives: str) -> Callable[[F], F]:
    """Authenticate the bearer key and demand ``scope`` (or one of ``alternatives``)
    before the view runs."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            kind, _, key = header.partition(" ")
            found = workspaces().authenticate(key.strip() if kind.lower() == "bearer" else None)
            if not found.scopes.intersection(alternatives):
                found.require(scope)
            g.principal = found
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]
