"""Run a piece of work in one transaction, retrying what concurrency can cause."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from identity.errors import ConcurrentChange, StoreUnavailable
from identity.store.uow import Store, UnitOfWork

__all__ = ["in_transaction", "read"]

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 8
_RETRY_SQLSTATES = {"40001", "40P01", "23505"}  # serialization, deadlock, unique


def in_transaction(store: Store, work: Callable[[UnitOfWork], T], attempts: int = ATTEMPTS) -> T:
    """Call ``work(uow)`` and commit; retry a bounded number of times on a deadlock, a
    serialisation failure, a lost race on a unique key or a busy SQLite file.

    Raises :class:`StoreUnavailable` when the store cannot be reached or the retries run
    out, so that the API answers 503 with ``Retry-After`` rather than 500.
    """
    for attempt in range(1, attempts + 1):
        try:
            with store.unit_of_work() as uow:
                result = work(uow)
                uow.commit()
                return result
        except (ConcurrentChange, IntegrityError, OperationalError) as exc:
            if not _retryable(exc):
                raise StoreUnavailable("the database is unavailable") from exc
            log.info("retrying after %s (attempt %d)", type(exc).__name__, attempt)
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable("the database connection was lost") from exc
            raise
    raise StoreUnavailable("the store stayed busy; try again")


def read(store: Store, work: Callable[[UnitOfWork], T]) -> T:
    """Call ``work(uow)`` in a read-only transaction."""
    try:
        with store.unit_of_work(readonly=True) as uow:
            return work(uow)
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable") from exc


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ConcurrentChange):
        return True
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    text = str(original).lower()
    return "database is locked" in text or "unique constraint failed" in text
