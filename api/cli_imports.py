"""``databank import``, ``databank worker`` and ``databank imports``: channel exports."""

from __future__ import annotations

import json
import logging
import signal
import sys
from datetime import datetime
from pathlib import Path
from time import sleep
from typing import Any

import click
from tqdm import tqdm

from identity.imports.presets import PRESETS, build_mapping
from identity.imports.readers import FORMATS, format_of
from identity.imports.rows import OUTCOMES
from identity.imports.spec import MappingSpec
from identity.services import import_worker
from identity.services.imports import (
    DEFAULT_CHUNK_ROWS,
    get_import,
    list_imports,
    list_rejects,
    start_import,
)

__all__ = ["import_command", "imports", "worker"]

SHOWN_REJECTS = 5
_PRESET_HELP = "; ".join(f"{name}: {p.description}" for name, p in PRESETS.items())


def _context() -> Any:
    from api.cli import Context  # registered from api.cli, which imports this module

    return click.get_current_context().ensure_object(Context)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workspace", "workspace_name", required=True)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help=_PRESET_HELP)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="COLUMN=KIND[@SCOPE]",
    help="An identifier column; KIND or SCOPE may be {COLUMN} of the same row. "
    "COLUMN= drops a preset's column.",
)
@click.option(
    "--kinds",
    multiple=True,
    metavar="COLUMN=VALUE:KIND,...",
    help="The kind for each value of a column named as {COLUMN} in --map.",
)
@click.option("--trait", "traits", multiple=True, metavar="COLUMN[=TRAIT]")
@click.option(
    "--tag", "tags", multiple=True, metavar="COLUMN", help="Tags, several per cell split on | or ,"
)
@click.option(
    "--time",
    metavar="COLUMN[:FORMAT]",
    help="FORMAT: iso (default), epoch, epoch_ms or a strptime pattern.",
)
@click.option(
    "--message-id", metavar="COLUMN", help="A column of message ids (repeats count as duplicate)."
)
@click.option("--channel", metavar="CHANNEL|{COLUMN}")
@click.option("--event", metavar="EVENT|{COLUMN}")
@click.option(
    "--encoding",
    metavar="CODEC",
    help="The file's encoding: utf-8 (default), gb18030, gbk, big5, latin-1, ...",
)
@click.option(
    "--delimiter",
    metavar="CHAR",
    help="The CSV delimiter: one character, or tab, semicolon, pipe (default ,).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    help="Default: jsonl for .jsonl/.ndjson files, else csv.",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    help=f"Rows per checkpoint (default {DEFAULT_CHUNK_ROWS:,}).",
)
@click.option("--background", is_flag=True, help="Only queue it; `databank worker` runs it.")
@click.option("--json", "as_json", is_flag=True, help="Print the status document as JSON.")
def import_command(file: Path, workspace_name: str, preset: str | None, format_: str | None,
                   chunk_rows: int | None, background: bool, as_json: bool,
                   **spec: Any) -> None:  # fmt: skip
    """Import a channel export (CSV with a header row, or JSON Lines) into a workspace.

    The mapping options are named as the fields of :class:`MappingSpec`."""
    ctx = _context()
    ws = ctx.workspaces.context_by_name(workspace_name)
    mapping = build_mapping(preset, MappingSpec(**spec))
    status = start_import(ctx.workspaces.store, ws, file.resolve(), file.name,
                          format_of(file.name, format_),
                          mapping, chunk_rows)  # fmt: skip
    if not background and status["status"] in ("queued", "running"):
        try:
            status = _run_here(ctx, ws, status["import_id"], status["rows_done"])
        except KeyboardInterrupt:
            click.echo(f"interrupted: import {status['import_id']} is queued again at its last "
                       "checkpoint; run the same command or `databank worker` to finish it",
                       err=True)  # fmt: skip
            sys.exit(130)
    _report(ctx, ws, status, as_json)
    if status["status"] == "failed":
        sys.exit(1)


def _run_here(ctx: Any, ws: Any, import_id: str, done: int) -> dict[str, Any]:
    """Run the import in this process; if a live worker has it already, follow it (and
    take it over should that worker die)."""
    store = ctx.workspaces.store
    worker_id = import_worker.new_worker_id()
    with tqdm(unit=" rows", initial=done, disable=not sys.stderr.isatty()) as bar:
        while True:
            if import_worker.claim(store, worker_id, import_id=import_id):
                return import_worker.run_import(store, ctx.workspaces, import_id, worker_id,
                                                bar.update)  # fmt: skip
            status = get_import(store, ws, import_id)
            if status["status"] not in ("queued", "running"):
                return status
            bar.update(status["rows_done"] - bar.n)
            sleep(0.5)


def _report(ctx: Any, ws: Any, status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(status, default=_iso, indent=2))
        return
    click.echo(f"import {status['import_id']} of {status['filename']}: {status['status']}")
    if status["status"] == "queued":
        click.echo("  `databank worker` runs it (`databank serve` starts one)")
        return
    rate = status["rows_per_second"]
    click.echo(
        f"  {'rows':<10}{status['rows_done']:>12,}" + (f"  ({rate:,.0f} rows/s)" if rate else "")
    )
    for outcome in OUTCOMES:
        click.echo(f"  {outcome:<10}{status['counts'][outcome]:>12,}")
    if status["duplicate_of"]:
        click.echo(
            f"  the same file was imported before as {status['duplicate_of']}: nothing changed"
        )
    if status["error"]:
        click.echo(f"  error: {status['error']}")
    rejected = status["counts"]["rejected"]
    if rejected:
        page = list_rejects(ctx.workspaces.store, ws, status["import_id"], None, SHOWN_REJECTS)
        click.echo(f"  rejected rows (first {len(page['rejects'])} of {rejected:,}):")
        for reject in page["rejects"]:
            click.echo(f"    line {reject['line']}: {reject['reason']}")
        click.echo(f"  all of them: databank imports rejects {status['import_id']} "
                   f"--workspace {ws.name}")  # fmt: skip


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@click.command()
@click.option("--once", is_flag=True, help="Run the imports that wait, then exit.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between looks at the queue.")
@click.option(
    "--stale-after",
    default=import_worker.STALE_AFTER,
    show_default=True,
    help="Take over a running import whose heartbeat is this many seconds old.",
)
def worker(once: bool, poll: float, stale_after: float) -> None:
    """Run queued imports (and resume interrupted ones) until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # SIGTERM (as `databank serve` stops its worker) puts the running import back in the
    # queue at its last checkpoint instead of leaving it to go stale.
    previous = signal.signal(signal.SIGTERM, _exit)
    ctx = _context()
    try:
        ran = import_worker.run_worker(ctx.workspaces.store, ctx.workspaces, once=once,
                                       poll_seconds=poll, stale_after=stale_after)  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(f"worker ran {ran} import(s)")


def _exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


@click.group()
def imports() -> None:
    """Imports: their status and rejected rows."""


@imports.command("list")
@click.option("--workspace", "workspace_name", required=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_command(workspace_name: str, limit: int) -> None:
    """The latest imports of a workspace, newest first."""
    ctx = _context()
    ws = ctx.workspaces.context_by_name(workspace_name)
    for status in list_imports(ctx.workspaces.store, ws, limit):
        counts = ", ".join(f"{k} {v:,}" for k, v in status["counts"].items() if v)
        click.echo(f"{status['import_id']}  {status['created_at']:%Y-%m-%d %H:%M}  "
                   f"{status['status']:<8} {status['rows_done']:>12,} rows  "
                   f"{status['filename']}  ({counts or 'nothing yet'})")  # fmt: skip


@imports.command("show")
@click.argument("import_id")
@click.option("--workspace", "workspace_name", required=True)
@click.option("--json", "as_json", is_flag=True)
def show(import_id: str, workspace_name: str, as_json: bool) -> None:
    """The status of an import."""
    ctx = _context()
    ws = ctx.workspaces.context_by_name(workspace_name)
    _report(ctx, ws, get_import(ctx.workspaces.store, ws, import_id), as_json)


@imports.command("rejects")
@click.argument("import_id")
@click.option("--workspace", "workspace_name", required=True)
def rejects(import_id: str, workspace_name: str) -> None:
    """Every rejected row of an import: line number, a tab, the reason."""
    ctx = _context()
    ws = ctx.workspaces.context_by_name(workspace_name)
    cursor: str | None = None
    while True:
        page = list_rejects(ctx.workspaces.store, ws, import_id, cursor, 1000)
        for reject in page["rejects"]:
            click.echo(f"{reject['line']}\t{reject['reason']}")
        if (cursor := page["next_cursor"]) is None:
            return
