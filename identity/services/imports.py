"""Imports as jobs: start one, read its status and its rejected rows.

An import is a row of the ``imports`` table; a worker (:mod:`identity.services.import_worker`)
runs it in checkpoints. Importing the same file again changes nothing:

- the same bytes (SHA-256) with the same format and mapping into the same workspace,
  after an import of them finished, give a new import that is ``done`` at once, every
  row counted ``duplicate`` and ``duplicate_of`` naming the earlier import;
- while the earlier import is still queued or running, or after it failed, starting it
  again returns that same import (re-queued, reading the new copy of the file, if it had
  failed), so it resumes from its last checkpoint instead of applying any row twice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select

from identity.audience import decode_cursor, encode_cursor
from identity.errors import ImportNotFound, InvalidInput
from identity.ids import new_id
from identity.imports.mapping import ImportMapping
from identity.imports.readers import FORMATS, read_header
from identity.imports.rows import OUTCOMES
from identity.services.context import WorkspaceContext, utcnow
from identity.services.transactions import in_transaction, read
from identity.store.models import Import, ImportReject, Workspace
from identity.store.uow import Store, UnitOfWork

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "file_digest",
    "get_import",
    "list_imports",
    "list_rejects",
    "prepare_mapping",
    "start_import",
    "status_document",
]

DEFAULT_CHUNK_ROWS = 500_000


def prepare_mapping(
    path: Path, format: str, mapping: ImportMapping, ws: WorkspaceContext
) -> ImportMapping:
    """The mapping fitted to the file's header and checked against it and the policy;
    every problem is reported at once."""
    if format not in FORMATS:
        raise InvalidInput("unknown format", {"format": f"choose from {', '.join(FORMATS)}"})
    if format == "jsonl":
        mapping.check(None, ws.policy)
        return mapping
    header, _ = read_header(path, mapping)
    fitted = mapping.fit(header)
    fitted.check(header, ws.policy)
    return fitted


def start_import(
    store: Store,
    ws: WorkspaceContext,
    path: Path,
    filename: str,
    format: str,
    mapping: ImportMapping,
    chunk_rows: int | None = None,
    upload: bool = False,
) -> dict[str, Any]:
    """Queue an import of the file at ``path`` (which must stay there until it is done)
    and return its status document. See the module notes for a file imported again.

    ``upload``: the file is the import's own copy (an HTTP upload), removed when no
    import will read it (it was refused, the same file was imported before, or is being
    imported), else by the worker once the import is done or has failed.
    """
    reads: str | None = None
    try:
        if chunk_rows is not None and chunk_rows < 1:
            raise InvalidInput("invalid chunk size", {"chunk_rows": "must be at least 1"})
        fitted = prepare_mapping(path, format, mapping, ws)
        job = {"filename": filename[-255:], "path": str(path), "format": format,
               "mapping": fitted.as_document(), "sha256": file_digest(path),
               "chunk_rows": chunk_rows, "owns_file": upload}  # fmt: skip
        status, reads = in_transaction(store, lambda uow: _start(uow, ws, job))
        return status
    finally:
        if upload and reads != str(path):
            path.unlink(missing_ok=True)


def _start(
    uow: UnitOfWork, ws: WorkspaceContext, job: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The import's status and the file it reads (``None`` if done at once)."""
    # Starts into one workspace queue behind each other, so that two starts of the same
    # file cannot both miss the other (SQLite's writes are serial anyway).
    uow.session.execute(select(Workspace.id).where(Workspace.id == ws.id).with_for_update())
    earlier = _earlier(uow, ws, job)
    now = utcnow()
    if earlier is not None and earlier.status != "done":
        if earlier.status == "failed":  # its file may be what failed: read the new one
            earlier.path, earlier.filename = job["path"], job["filename"]
            earlier.owns_file = job["owns_file"]
            earlier.status, earlier.error, earlier.claimed_by = "queued", None, None
        return status_document(earlier), earlier.path
    row = Import(id=new_id("imp_"), workspace_id=ws.id, status="queued", rows_done=0,
                 checkpoint=None, counts={}, created_at=now, **job)  # fmt: skip
    if earlier is not None:
        row.status, row.duplicate_of = "done", earlier.id
        row.rows_done, row.counts = earlier.rows_done, {"duplicate": earlier.rows_done}
        row.started_at = row.finished_at = now
    uow.session.add(row)
    uow.session.flush()
    return status_document(row), None if row.duplicate_of else row.path


def _earlier(uow: UnitOfWork, ws: WorkspaceContext, job: dict[str, Any]) -> Import | None:
    """The latest import of the same bytes, format and mapping that is not itself a
    duplicate."""
    candidates = uow.session.scalars(
        select(Import)
        .where(Import.workspace_id == ws.id, Import.sha256 == job["sha256"],
               Import.format == job["format"], Import.duplicate_of.is_(None))
        .order_by(Import.created_at.desc(), Import.id.desc())
    )  # fmt: skip
    return next((c for c in candidates if c.mapping == job["mapping"]), None)


def get_import(store: Store, ws: WorkspaceContext, import_id: str) -> dict[str, Any]:
    """The status document of an import of this workspace (404 for any other)."""
    return read(store, lambda uow: status_document(_load(uow, ws, import_id)))


def list_imports(store: Store, ws: WorkspaceContext, limit: int = 20) -> list[dict[str, Any]]:
    """The workspace's latest imports, newest first."""

    def work(uow: UnitOfWork) -> list[dict[str, Any]]:
        rows = uow.session.scalars(
            select(Import).where(Import.workspace_id == ws.id)
            .order_by(Import.created_at.desc(), Import.id.desc()).limit(limit)
        )  # fmt: skip
        return [status_document(row) for row in rows]

    return read(store, work)


def list_rejects(
    store: Store, ws: WorkspaceContext, import_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    """``{rejects: [{line, reason}], next_cursor}`` in line order."""
    after = _cursor_line(cursor) if cursor else 0

    def work(uow: UnitOfWork) -> dict[str, Any]:
        _load(uow, ws, import_id)
        rows = uow.session.execute(
            select(ImportReject.line, ImportReject.reason)
            .where(ImportReject.import_id == import_id, ImportReject.line > after)
            .order_by(ImportReject.line)
            .limit(limit + 1)
        ).all()
        page = [{"line": line, "reason": reason} for line, reason in rows[:limit]]
        more = len(rows) > limit
        return {
            "rejects": page,
            "next_cursor": encode_cursor(str(page[-1]["line"])) if more else None,
        }

    return read(store, work)


def status_document(row: Import) -> dict[str, Any]:
    """What ``GET /v1/imports/{id}`` answers."""
    counts = {outcome: int(row.counts.get(outcome, 0)) for outcome in OUTCOMES}
    return {
        "import_id": row.id,
        "status": row.status,
        "filename": row.filename,
        "format": row.format,
        "sha256": row.sha256,
        "rows_done": row.rows_done,
        "counts": counts,
        "rows_per_second": _rate(row),
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "error": row.error,
        "duplicate_of": row.duplicate_of,
        "checkpoint_line": (row.checkpoint or {}).get("line"),
    }


def file_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _load(uow: UnitOfWork, ws: WorkspaceContext, import_id: str) -> Import:
    row = uow.session.get(Import, import_id)
    if row is None or row.workspace_id != ws.id:
        raise ImportNotFound(f"no import {import_id!r} in this workspace")
    return row


def _rate(row: Import) -> float | None:
    """Rows per second of the time spent on committed chunks."""
    seconds = float((row.checkpoint or {}).get("seconds", 0.0))
    return round(row.rows_done / seconds, 1) if seconds > 0 else None


def _cursor_line(cursor: str) -> int:
    after = decode_cursor(cursor)
    if not after.isdigit():
        raise InvalidInput("invalid cursor", {"cursor": "not a cursor of this API"})
    return int(after)
