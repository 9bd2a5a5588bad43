"""``databank demo``: a workspace of realistic synthetic channel exports, imported.

The exports come from :mod:`identity.synthetic` (an app login log, SMS and WeChat logins,
two mini-program authorisation exports, a CRM member list, over the 60 days up to
today) and go through the import engine in chunks, as ``databank import`` would.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from api.schemas import ObservationSchema
from identity.imports.engine import apply_rows
from identity.imports.rows import ImportRow
from identity.services.audience import overlap, search
from identity.services.context import WorkspaceContext
from identity.services.transactions import in_transaction
from identity.services.workspaces import SCOPES, Workspaces
from identity.store import schema
from identity.store.uow import Store
from identity.synthetic import write_csv, write_jsonl

__all__ = ["demo"]

SIZES = {"small": 2_000, "default": 20_000}
CHUNK = 1_000
OVERLAP = ("app", "wechat_mp", "alipay_mp", "crm")


@click.command()
@click.option("--workspace", "name", default="demo", show_default=True)
@click.option("--rows", "size", default="default", show_default=True,
              help="small (2,000 rows), default (20,000) or a number of rows.")  # fmt: skip
@click.option("--seed", default=7, show_default=True)
def demo(name: str, size: str, seed: int) -> None:
    """Make a demo workspace from realistic synthetic channel exports and import them."""
    from api.cli import Context  # the command group's context; cli registers this command

    ctx = click.get_current_context().ensure_object(Context)
    rows = _row_count(size)
    schema.upgrade(ctx.settings.database_url)
    workspaces = ctx.workspaces
    workspaces.create(name)
    ws = workspaces.context_by_name(name)
    folder = ctx.settings.var_dir / "demo" / name
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    write_csv(folder, rows, seed, end=end)
    observations = write_jsonl(folder / "observations.jsonl", rows, seed, end=end)
    counts = _import(workspaces.store, ws, observations, rows)
    click.echo(f"workspace {name}: {rows:,} rows imported ({_counts(counts)})")
    click.echo(f"the exports are in {folder}")
    _tour(workspaces, ws)


def _row_count(size: str) -> int:
    rows = SIZES.get(size) or (int(size) if size.isdigit() else 0)
    if rows < 1:
        raise click.BadParameter("small, default or a whole number of rows", param_hint="--rows")
    return rows


def _import(store: Store, ws: WorkspaceContext, path: Path, rows: int) -> Counter[str]:
    """Apply the JSON Lines file in chunks, one transaction each."""
    counts: Counter[str] = Counter()
    with path.open(encoding="utf-8") as f, tqdm(total=rows, disable=not sys.stderr.isatty()) as bar:
        parsed = _parse(f)
        while chunk := list(islice(parsed, CHUNK)):
            outcome = in_transaction(store, lambda uow: apply_rows(uow, ws, chunk, "import:demo"))
            counts.update(outcome.counts)
            bar.update(len(chunk))
    return counts


def _parse(lines: Iterator[str]) -> Iterator[ImportRow]:
    observation = ObservationSchema()
    for line_number, line in enumerate(lines, start=1):
        yield ImportRow(line_number, observation.load(json.loads(line)))


def _tour(workspaces: Workspaces, ws: WorkspaceContext) -> None:
    key = workspaces.create_key(ws.name, SCOPES)
    store = workspaces.store
    shares = overlap(store, ws, OVERLAP)
    person = _rich_person(store, ws)
    click.echo(f"\n{shares['persons']:,} persons; per channel: {_counts(shares['per_channel'])}")
    top = sorted(shares["combinations"], key=lambda c: -c["persons"])[:5]
    click.echo("largest channel combinations: " + "; ".join(
        f"{'+'.join(c['channels'])} {c['persons']:,}" for c in top))  # fmt: skip
    click.echo(f"\nAPI key of {ws.name} (every scope, shown once): {key}")
    click.echo("Try, with `databank serve` running:")
    click.echo(f"  KEY={key}")
    base = "http://127.0.0.1:8000"
    click.echo(f'  curl -s {base}/v1/persons/{person} -H "Authorization: Bearer $KEY"')
    click.echo(f'  curl -s "{base}/v1/insights/overlap?channels={",".join(OVERLAP)}" '
               '-H "Authorization: Bearer $KEY"')  # fmt: skip
    click.echo(f'  curl -s "{base}/v1/persons?tag=air_purifier&channel=app" '
               '-H "Authorization: Bearer $KEY"')  # fmt: skip
    click.echo(f"  {base}/ui/  (paste the key, look up {person})")
    click.echo(f"  {base}/ui/overlap?channels={','.join(OVERLAP)}  (the overlap chart)")


def _rich_person(store: Store, ws: WorkspaceContext) -> str:
    """The person seen in the most channels, with the most tags and traits, among the
    first CRM members of the App and the WeChat mini-programs."""
    from identity.audience import Audience

    page = search(store, ws, Audience(channels=("app", "wechat_mp", "crm")), None, 200)["persons"]
    if not page:
        page = search(store, ws, Audience(), None, 200)["persons"]
    best: dict[str, Any] = max(
        page, key=lambda p: (len(p["channels"]), len(p["tags"]) + len(p["traits"]))
    )
    return str(best["person_id"])


def _counts(counts: Any) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items(), key=lambda i: -i[1]))
