"""SQLite's WAL checkpoints, moved off the request path.

By default SQLite checkpoints the WAL into the database file after the commit that
takes the WAL past 1,000 pages, in the connection that committed: that writer copies the
pages and waits for an fsync of the database file, about 15-20 ms here, so about one
identify in a hundred took that long (it was the p99). Each :class:`~identity.store.uow.Store`
of a SQLite file runs a :class:`Checkpointer` thread instead, which checkpoints every
``interval`` seconds (``PASSIVE``: it neither waits for nor blocks readers and writers;
the sqlite3 driver releases the GIL meanwhile), and the connections checkpoint by
themselves only past :data:`FALLBACK_PAGES`, should the thread ever stop.
"""

from __future__ import annotations

import logging
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

__all__ = ["FALLBACK_PAGES", "INTERVAL", "Checkpointer"]

log = logging.getLogger(__name__)

FALLBACK_PAGES = 20_000  # about 80 MB of WAL at 4 KiB pages
INTERVAL = 0.5  # seconds


class Checkpointer:
    """A daemon thread that checkpoints the WAL of ``engine``'s database file, on a
    connection of its own once the file exists; it stops with :meth:`stop` (the store
    calls it on ``engine.dispose()``) or when ``owner`` is garbage-collected."""

    def __init__(self, engine: Engine, owner: object, interval: float = INTERVAL) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=_run, args=(weakref.ref(engine), self._stopped, interval),
            name="databank-wal-checkpoints", daemon=True,
        )  # fmt: skip
        weakref.finalize(owner, self._stopped.set)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def _run(engine_ref: weakref.ref[Engine], stopped: threading.Event, interval: float) -> None:
    pooled: Any = None
    try:
        while not stopped.wait(interval):
            try:
                if pooled is None:
                    pooled = _connect(engine_ref)
                if pooled is not None:
                    pooled.dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except Exception as exc:  # a busy or vanished file: try again next time
                log.debug("WAL checkpoint skipped: %s", exc)
    finally:
        if pooled is not None:
            try:
                pooled.close()  # a detached connection closes its driver connection
            except Exception as exc:
                log.debug("closing the checkpoint connection: %s", exc)


def _connect(engine_ref: weakref.ref[Engine]) -> Any:
    """A connection of the engine's (its connect settings apply), taken out of its
    pool; ``None`` while the database file does not exist (it is not made here)."""
    engine = engine_ref()
    if engine is None or not Path(engine.url.database or "").is_file():
        return None
    pooled = engine.raw_connection()
    pooled.detach()  # the thread's own from now on
    return pooled
