"""Run a piece of work in one transaction, retrying what concurrency can cause."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from identity.errors import ConcurrentChange, StoreUnavailable
from identity.store.driver import Driver
from identity.store.uow import Store, UnitOfWork

__all__ = ["in_transaction", "lookup", "read"]

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 8
_RETRY_SQLSTATES = {"40001", "40P01", "23505"}  # serialization, deadlock, unique


def in_transaction(store: Store, work: Callable[[UnitOfWork], T], attempts: int = ATTEMPTS) -> T:
    """Call ``work(uow)`` and commit; retry a bounded number of times on a deadlock, a
    serialisation failure, a lost race on a unique key or a busy SQLite file.

    Raises :class:`StoreUnavailable` when the store cannot be reached or the retries run
    out, so that the API answers 503 with ``Retry-After`` rather than 500. Pooled
    connections are not pinged before use: one found dead (the server restarted) is
    replaced and the work run again, once.
    """
    for attempt in range(1, attempts + 1):
        try:
            with store.unit_of_work() as uow:
                result = work(uow)
                uow.commit()
                return result
        except DBAPIError as exc:
            if exc.connection_invalidated:
                if attempt == 1:
                    continue
                raise StoreUnavailable("the database connection was lost") from exc
            if not isinstance(exc, IntegrityError | OperationalError):
                raise
            _back_off(exc, attempt)
        except ConcurrentChange as exc:
            _back_off(exc, attempt)
    raise StoreUnavailable("the store stayed busy; try again")


def _back_off(exc: Exception, attempt: int) -> None:
    if not _retryable(exc):
        raise StoreUnavailable("the database is unavailable") from exc
    log.info("retrying after %s (attempt %d)", type(exc).__name__, attempt)
    time.sleep(random.uniform(0, 0.005 * 2**attempt))


def read(store: Store, work: Callable[[UnitOfWork], T]) -> T:
    """Call ``work(uow)`` in a read-only transaction."""

    def once() -> T:
        with store.unit_of_work(readonly=True) as uow:
            return work(uow)

    return _reconnecting(once)


def lookup(store: Store, work: Callable[[Driver], T]) -> T:
    """Call ``work(driver)`` for reads of one statement each, without a transaction."""

    def once() -> T:
        with store.lookups() as driver:
            return work(driver)

    return _reconnecting(once)


def _reconnecting(call: Callable[[], T]) -> T:
    """``call()``; once more if its pooled connection was found dead."""
    for last in (False, True):
        try:
            return call()
        except DBAPIError as exc:
            if exc.connection_invalidated and not last:
                continue
            if exc.connection_invalidated or isinstance(exc, OperationalError):
                raise StoreUnavailable("the database is unavailable") from exc
            raise
    raise AssertionError("unreachable")


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ConcurrentChange):
        return True
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    text = str(original).lower()
    return "database is locked" in text or "unique constraint failed" in text
