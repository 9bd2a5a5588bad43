"""``databank demo``: a workspace of realistic synthetic channel exports, imported.

The exports come from :mod:`identity.synthetic` (an app login log, SMS and WeChat logins,
two mini-program authorisation exports, a CRM member list, over the 60 days up to
today). Each is imported with its preset mapping as an import job run in this process,
as ``databank import`` does.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from identity.audience import Audience
from identity.imports.presets import build_mapping
from identity.imports.spec import MappingSpec
from identity.services import import_worker
from identity.services.audience import overlap, search
from identity.services.context import WorkspaceContext
from identity.services.imports import start_import
from identity.services.workspaces import SCOPES, Workspaces
from identity.store import schema
from identity.store.uow import Store
from identity.synthetic import write_csv

__all__ = ["IMPORTS", "demo", "import_file"]

SIZES = {"small": 2_000, "default": 20_000}
OVERLAP = ("app", "wechat_mp", "alipay_mp", "crm")
#: How each synthetic export is imported: a preset and what is laid over it (the same as
#: ``databank import FILE --preset ... --tag ... --map ...``).
IMPORTS: dict[str, tuple[str | None, MappingSpec]] = {
    "crm_members": ("crm-members", MappingSpec(traits=("consumption_level", "points"))),
    "app_login": ("app-login", MappingSpec(tags=("tags",))),
    "sms_login": ("app-login", MappingSpec(event="sms_login")),
    "wechat_login": (None, MappingSpec(
        maps=("user_id=login_id@{app_id}", "unionid=wechat_unionid@{platform}"),
        time="login_time:iso", channel="app", event="wechat_login")),
    "wechat_mp": ("wechat-mp", MappingSpec(tags=("tags",))),
    "alipay_mp": (None, MappingSpec(
        maps=("openid=alipay_openid@{appid}", "user_id=alipay_user_id", "phone=phone"),
        time="auth_time:iso", channel="alipay_mp", event="authorise")),
}  # fmt: skip


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
    paths = write_csv(folder, rows, seed, end=end)
    counts: Counter[str] = Counter()
    for export, (preset, spec) in tqdm(IMPORTS.items(), disable=None, unit="export"):
        counts.update(import_file(workspaces, ws, paths[export], preset, spec))
    click.echo(f"workspace {name}: {rows:,} rows imported ({_counts(counts)})")
    click.echo(f"the exports are in {folder}")
    _tour(workspaces, ws)


def _row_count(size: str) -> int:
    rows = SIZES.get(size) or (int(size) if size.isdigit() else 0)
    if rows < 1:
        raise click.BadParameter("small, default or a whole number of rows", param_hint="--rows")
    return rows


def import_file(
    workspaces: Workspaces, ws: WorkspaceContext, path: Path, preset: str | None, spec: MappingSpec
) -> dict[str, int]:
    """Import a CSV export with its mapping as ``databank import`` does (an import job run
    in this process); its counts by outcome."""
    store = workspaces.store
    status = start_import(store, ws, path.resolve(), path.name, "csv", build_mapping(preset, spec))
    worker = import_worker.new_worker_id()
    if import_worker.claim(store, worker, import_id=status["import_id"]):
        status = import_worker.run_import(store, workspaces, status["import_id"], worker)
    if status["status"] != "done":
        raise click.ClickException(f"the import of {path.name} ended {status['status']}")
    return dict(status["counts"])


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
    page = search(store, ws, Audience(channels=("app", "wechat_mp", "crm")), None, 200)["persons"]
    if not page:
        page = search(store, ws, Audience(), None, 200)["persons"]
    best: dict[str, Any] = max(
        page, key=lambda p: (len(p["channels"]), len(p["tags"]) + len(p["traits"]))
    )
    return str(best["person_id"])


def _counts(counts: Any) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items(), key=lambda i: -i[1]))
