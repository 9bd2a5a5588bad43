"""The per-app objects views reach through ``current_app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from identity.services.workspaces import Workspaces
from identity.settings import Settings
from identity.store.uow import Store

__all__ = ["Databank", "store"]


@dataclass
class Databank:
    store: Store
    workspaces: Workspaces
    settings: Settings | None = None


def store() -> Store:
    return current_app.extensions["databank"].store  # type: ignore[no-any-return]
