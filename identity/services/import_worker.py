"""The import worker: claim an import, apply it chunk by chunk, resume after a crash.

Each chunk (``chunk_rows`` rows, default 500,000) is applied with
:func:`identity.imports.engine.apply_rows` and, in the same transaction, the import's
checkpoint (lines and bytes read), ``rows_done``, counts and the chunk's rejected rows
are written. A worker killed at any moment therefore leaves either the whole chunk or
none of it; whoever claims the import next reads on from the checkpoint and ends in
the state an uninterrupted run would have reached.

A worker claims a queued import, or a running one whose heartbeat is older than
``stale_after`` seconds (its worker died). On PostgreSQL the claim is
``FOR UPDATE SKIP LOCKED``; on SQLite every write transaction is ``BEGIN IMMEDIATE``, so
claims are serial. A chunk commits only while its worker still holds the claim.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select, update

from identity.errors import DatabankError, InvalidInput, StoreUnavailable
from identity.ids import new_id
from identity.imports.collector import collector_paused
from identity.imports.engine import apply_rows
from identity.imports.mapping import ImportMapping
from identity.imports.readers import Position, read_chunks
from identity.imports.rows import ChunkOutcome, ImportRow, Reject
from identity.services.context import WorkspaceContext, utcnow
from identity.services.imports import DEFAULT_CHUNK_ROWS, file_digest, status_document
from identity.services.transactions import in_transaction, read
from identity.services.workspaces import Workspaces
from identity.store.models import Import, ImportReject
from identity.store.uow import Store, UnitOfWork

__all__ = ["STALE_AFTER", "LostClaim", "claim", "new_worker_id", "run_import", "run_worker"]

log = logging.getLogger(__name__)

STALE_AFTER = 60.0
Progress = Callable[[int], None]
Chunk = list[ImportRow | Reject]


class LostClaim(DatabankError):
    """Another worker took the import over (this one's heartbeat went stale)."""

    title = "Lost claim"


def new_worker_id() -> str:
    return new_id("w_")


def claim(
    store: Store, worker_id: str, stale_after: float = STALE_AFTER, import_id: str | None = None
) -> str | None:
    """Claim the oldest queued or stale import (or only ``import_id``); its id or ``None``."""

    def work(uow: UnitOfWork) -> str | None:
        now = utcnow()
        query = (
            select(Import)
            .where(or_(Import.status == "queued",
                       (Import.status == "running")
                       & (Import.heartbeat_at < now - timedelta(seconds=stale_after))))
            .order_by(Import.created_at, Import.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )  # fmt: skip
        if import_id is not None:
            query = query.where(Import.id == import_id)
        row = uow.session.scalars(query).first()
        if row is None:
            return None
        row.status, row.claimed_by, row.heartbeat_at = "running", worker_id, now
        row.started_at = row.started_at or now
        return row.id

    return in_transaction(store, work)


def run_worker(
    store: Store,
    workspaces: Workspaces,
    once: bool = False,
    poll_seconds: float = 1.0,
    stale_after: float = STALE_AFTER,
    stop: threading.Event | None = None,
) -> int:
    """Run imports as they are queued (``once``: until none waits); how many ran."""
    worker_id, ran = new_worker_id(), 0
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            import_id = claim(store, worker_id, stale_after)
        except StoreUnavailable:
            log.warning("the store is unavailable; the worker waits")
            import_id = None
        if import_id is None:
            if once:
                break
            stop.wait(poll_seconds)
            continue
        status = run_import(store, workspaces, import_id, worker_id, stale_after=stale_after)
        log.info("import %s: %s, %d rows", import_id, status["status"], status["rows_done"])
        ran += 1
    return ran


def run_import(
    store: Store,
    workspaces: Workspaces,
    import_id: str,
    worker_id: str,
    progress: Progress | None = None,
    stale_after: float = STALE_AFTER,
) -> dict[str, Any]:
    """Run a claimed import to its end (or until its claim is lost); its status."""
    job = _Job.load(store, workspaces, import_id, worker_id)
    if job is not None:
        _run(job, progress, max(stale_after / 4, 0.5))
    return read(store, lambda uow: status_document(uow.session.get_one(Import, import_id)))


def _run(job: _Job, progress: Progress | None, beat_every: float) -> None:
    import_id = job.row.id
    try:
        with _Heartbeat(job.store, import_id, job.worker_id, beat_every), collector_paused():
            job.run(progress)  # the collector's sweeps in between chunks cost ~5 % of it
    except (KeyboardInterrupt, SystemExit):
        job.release()  # stopped on purpose: back to the queue at its last checkpoint
        raise
    except (LostClaim, StoreUnavailable) as exc:
        # Someone else holds the import now, or the store is away: leave it to be
        # claimed again once its heartbeat is stale.
        log.warning("import %s left to be resumed: %s", import_id, exc.detail)
    except (InvalidInput, OSError) as exc:
        job.fail(_failure(exc))
    except Exception:
        log.exception("import %s failed", import_id)
        job.fail("internal error; see the worker's log")


class _Job:
    """One claimed import and what its worker has committed of it so far."""

    def __init__(self, store: Store, row: Import, ws: WorkspaceContext, worker_id: str) -> None:
        self.store, self.row, self.ws, self.worker_id = store, row, ws, worker_id
        self.counts: Counter[str] = Counter(row.counts)
        self.rows_done = row.rows_done
        # Seconds spent on committed chunks, kept in the checkpoint: the rate of an
        # import that was interrupted does not count the time it lay dead.
        self.seconds = float((row.checkpoint or {}).get("seconds", 0.0))
        self.since = time.monotonic()

    @classmethod
    def load(
        cls, store: Store, workspaces: Workspaces, import_id: str, worker_id: str
    ) -> _Job | None:
        """The import if this worker holds it (else it was taken over: ``None``)."""
        row = read(store, lambda uow: _detached(uow, uow.session.get_one(Import, import_id)))
        if row.claimed_by != worker_id or row.status != "running":
            log.warning("import %s is not held by worker %s", import_id, worker_id)
            return None
        return cls(store, row, workspaces.context(row.workspace_id), worker_id)

    def run(self, progress: Progress | None) -> None:
        path = Path(self.row.path)
        if self.row.sha256 and file_digest(path) != self.row.sha256:
            raise InvalidInput("the file changed since the import was started", {})
        chunks = read_chunks(path, self.row.format, ImportMapping.from_document(self.row.mapping),
                             self.ws.policy, self.row.created_at,
                             self.row.chunk_rows or DEFAULT_CHUNK_ROWS,
                             Position.from_document(self.row.checkpoint))  # fmt: skip
        self.since = time.monotonic()
        for chunk, end in chunks:
            work = partial(self._apply, chunk=chunk, end=end)
            outcome, seconds = in_transaction(self.store, work)
            self.counts.update(outcome.counts)
            self.rows_done += len(chunk)
            self.seconds, self.since = seconds, time.monotonic()
            if progress is not None:
                progress(len(chunk))
        self._finish({"status": "done", "finished_at": utcnow()})

    def _apply(self, uow: UnitOfWork, chunk: Chunk, end: Position) -> tuple[ChunkOutcome, float]:
        outcome = ChunkOutcome()
        for item in chunk:
            if isinstance(item, Reject):
                outcome.reject(item.line, item.reason)
        rows = [item for item in chunk if isinstance(item, ImportRow)]
        outcome.add(apply_rows(uow, self.ws, rows, f"import:{self.row.id}"))
        if outcome.rejects:
            uow.session.execute(
                insert(ImportReject),
                [{"import_id": self.row.id, "line": r.line, "reason": r.reason[:2000]}
                 for r in outcome.rejects],
            )  # fmt: skip
        counts = self.counts + outcome.counts
        seconds = self.seconds + time.monotonic() - self.since
        checkpoint = {**end.as_document(), "seconds": round(seconds, 3)}
        self._update(uow, {"rows_done": self.rows_done + len(chunk), "counts": dict(counts),
                           "checkpoint": checkpoint, "heartbeat_at": utcnow()})  # fmt: skip
        return outcome, seconds

    def _update(self, uow: UnitOfWork, values: dict[str, Any]) -> None:
        done = uow.session.execute(
            update(Import)
            .where(Import.id == self.row.id, Import.claimed_by == self.worker_id,
                   Import.status == "running")
            .values(**values)
        )  # fmt: skip
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise LostClaim(f"import {self.row.id} was taken over by another worker")

    def _finish(self, values: dict[str, Any]) -> None:
        in_transaction(self.store, lambda uow: self._update(uow, values))
        if values["status"] in ("done", "failed") and self.row.owns_file:
            # An upload is the import's own copy of raw personal data: gone with it.
            Path(self.row.path).unlink(missing_ok=True)

    def release(self) -> None:
        with contextlib.suppress(LostClaim, StoreUnavailable):
            self._finish({"status": "queued", "claimed_by": None})

    def fail(self, error: str) -> None:
        log.warning("import %s failed: %s", self.row.id, error)
        with contextlib.suppress(LostClaim, StoreUnavailable):
            self._finish({"status": "failed", "error": error, "finished_at": utcnow()})


class _Heartbeat:
    """Touches the import's ``heartbeat_at`` every ``every`` seconds from a thread."""

    def __init__(self, store: Store, import_id: str, worker_id: str, every: float) -> None:
        self.store, self.import_id, self.worker_id, self.every = store, import_id, worker_id, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"beat-{import_id}")

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                in_transaction(self.store, self._touch, attempts=2)
            except Exception as exc:  # a missed beat is not fatal; the next one may land
                log.info("heartbeat of import %s missed: %s", self.import_id, exc)

    def _touch(self, uow: UnitOfWork) -> None:
        uow.session.execute(
            update(Import)
            .where(Import.id == self.import_id, Import.claimed_by == self.worker_id,
                   Import.status == "running")
            .values(heartbeat_at=utcnow())
        )  # fmt: skip


def _detached(uow: UnitOfWork, row: Import) -> Import:
    """The row, loaded and kept readable after its unit of work ends."""
    uow.session.expunge(row)
    return row


def _failure(exc: Exception) -> str:
    if isinstance(exc, InvalidInput):
        details = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        return f"{exc.detail} ({details})" if details else exc.detail
    return f"the file cannot be read: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"
