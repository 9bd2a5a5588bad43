"""A queue for SQLite's writers: a file lock taken before ``BEGIN IMMEDIATE``.

SQLite lets one writer at a time hold a database; the others poll, sleeping 1, 2, 5,
10, 15, 20, 25 ... ms between tries (its default busy handler), while the lock, held for
well under a millisecond by an identify, may lie free for most of that sleep. With this
gate identify serves about 30 % more requests a second over HTTP
(``docs/benchmarks-http.md``, fourth round).

Each connection of a SQLite file therefore opens ``<file>-writer`` and takes an
exclusive ``flock`` on it before it begins a writing transaction, releasing it when the
transaction commits or rolls back (or the connection closes). Waiting writers block in
the kernel, which wakes the next one the moment the lock is free, across threads and
processes alike (each connection has its own open file). The kernel drops the lock of
a process that dies, so no lock outlives its holder.

Within a process, the threads of one file first take a lock of the process's own
(bounded by the connection's busy timeout, then "database is locked", as SQLite would
say), so that one thread per process at most waits in ``flock``, which has no timeout:
a stuck writer elsewhere cannot hold every request thread of a server.

The gate only orders writers; SQLite's own lock still guards the data. A writer that
does not take the gate (another program, or a thread that already holds it through a
second connection, which would otherwise wait for itself) falls back to the busy handler.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading

__all__ = ["GatedConnection"]

log = logging.getLogger(__name__)

_holders: set[int] = set()  # the threads holding a gate (through any connection)
_in_process: dict[str, threading.Lock] = {}  # per gate file: its threads queue here first
_in_process_lock = threading.Lock()


def _forget_locks() -> None:
    """A child starts with fresh locks and no holders: a lock held by another thread at
    the fork would never be released there, and thread ids are reused."""
    global _in_process_lock
    _in_process.clear()
    _holders.clear()
    _in_process_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_locks)


class GatedConnection(sqlite3.Connection):
    """A sqlite3 connection that queues at the writer gate of its file (after
    :meth:`open_gate`) when it begins writing (:meth:`begin`)."""

    _gate: int | None = None
    _path = ""
    _holder: int | None = None  # the thread that took the gate
    _lock: threading.Lock | None = None  # and the process's lock it took on the way

    def open_gate(self, database: str) -> None:
        """Open the gate file of ``database`` (made if missing; ``flock`` needs only
        read access). Where it cannot be opened, this connection writes without it."""
        self._path = os.path.abspath(f"{database}-writer")
        try:
            self._gate = os.open(self._path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning("SQLite writer gate unavailable, writers poll instead: %s", exc)

    def begin(self, statement: str, writes: bool) -> None:
        """Run ``statement`` (a ``BEGIN``); first wait at the gate if it ``writes``."""
        thread = threading.get_ident()
        if writes and self._gate is not None and thread not in _holders:
            lock = self._queue()
            try:
                fcntl.flock(self._gate, fcntl.LOCK_EX)  # blocks without the GIL
            except BaseException:
                lock.release()
                raise
            self._holder, self._lock = thread, lock
            _holders.add(thread)
        try:
            self.execute(statement)
        except BaseException:
            self._leave()
            raise

    def _queue(self) -> threading.Lock:
        """The process's lock of this file, taken within the busy timeout."""
        with _in_process_lock:
            lock = _in_process.setdefault(self._path, threading.Lock())
        if not lock.acquire(blocking=False):
            (milliseconds,) = self.execute("PRAGMA busy_timeout").fetchone()
            if not lock.acquire(timeout=milliseconds / 1000):
                raise sqlite3.OperationalError("database is locked")
        return lock

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()
            if self._gate is not None:
                os.close(self._gate)
                self._gate = None

    def _leave(self) -> None:
        if self._holder is not None:
            _holders.discard(self._holder)
            lock, self._holder, self._lock = self._lock, None, None
            try:
                fcntl.flock(self._gate, fcntl.LOCK_UN)  # type: ignore[arg-type]
            finally:
                lock.release()  # type: ignore[union-attr]
