"""The ``databank`` command line."""

from __future__ import annotations

import gc
import json
import multiprocessing
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import click

from api.cli_demo import demo
from api.cli_imports import import_command, imports, worker
from identity.errors import Conflict, DatabankError
from identity.identifiers import parse_identifier
from identity.normalise import KeyedHasher
from identity.observation import RawIdentifier
from identity.services.persons import get_person, resolve
from identity.services.workspaces import SCOPES, Workspaces
from identity.settings import Settings
from identity.store import schema
from identity.store.database import create_store_engine
from identity.store.uow import Store


class Context:
    """Settings read once from the environment and the store opened, both on first use
    (so that ``--help`` touches neither)."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._workspaces: Workspaces | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @property
    def workspaces(self) -> Workspaces:
        if self._workspaces is None:
            store = Store(create_store_engine(self.settings.database_url))
            self._workspaces = Workspaces(store, KeyedHasher(self.settings.secret_key))
        return self._workspaces

    def close(self) -> None:
        if self._workspaces is not None:
            self._workspaces.store.engine.dispose()


pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
@click.pass_context
def main(click_context: click.Context) -> None:
    """Databank: identity resolution and the data bank profile."""
    click_context.call_on_close(click_context.ensure_object(Context).close)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Create or migrate the database (DATABANK_DATABASE_URL, default ./var/)."""
    schema.upgrade(ctx.settings.database_url)
    click.echo(f"schema at {schema.head_revision()}")


@main.group()
def workspace() -> None:
    """Workspaces: one brand's isolated identity space each."""


@workspace.command("create")
@click.argument("name")
@click.option("--exist-ok", is_flag=True, help="Succeed if the workspace exists already.")
@pass_context
def workspace_create(ctx: Context, name: str, exist_ok: bool) -> None:
    """Create a workspace."""
    try:
        ctx.workspaces.create(name)
        click.echo(f"workspace {name} created")
    except Conflict:
        if not exist_ok:
            raise
        click.echo(f"workspace {name} exists")


@main.group()
def key() -> None:
    """API keys."""


@key.command("create")
@click.option("--workspace", "workspace_name", required=True)
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES), required=True)
@pass_context
def key_create(ctx: Context, workspace_name: str, scopes: tuple[str, ...]) -> None:
    """Print a new API key. It is shown this once; only its hash is stored."""
    click.echo(ctx.workspaces.create_key(workspace_name, scopes))


@main.command("resolve")
@click.option("--workspace", "workspace_name", required=True)
@click.argument("identifier")
@pass_context
def resolve_command(ctx: Context, workspace_name: str, identifier: str) -> None:
    """Print the person of KIND[@SCOPE]:VALUE as JSON."""
    try:
        kind, scope, value = parse_identifier(identifier)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="IDENTIFIER") from None
    ws = ctx.workspaces.context_by_name(workspace_name)
    store = ctx.workspaces.store
    found = resolve(store, ws, [RawIdentifier(kind, value, scope or None)])
    click.echo(json.dumps(get_person(store, ws, found["person_id"]), default=str, indent=2))


DEFAULT_WORKERS = multiprocessing.cpu_count() * 2 + 1
DEFAULT_THREADS = 2


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True)
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, help="Threads per worker.")
@click.option(
    "--import-worker/--no-import-worker",
    default=True,
    show_default=True,
    help="Also run `databank worker` beside the server, for uploaded imports.",
)
@pass_context
def serve(ctx: Context, host: str, port: int, workers: int, threads: int,
          import_worker: bool) -> None:  # fmt: skip
    """Serve the API with gunicorn (and an import worker, unless told not to)."""
    settings = ctx.settings
    hooks = _import_worker_hooks() if import_worker else {}

    def load() -> Any:
        from api import create_app

        return create_app(settings)

    run_gunicorn(load, host, port, workers, threads, hooks)


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The gunicorn settings of ``databank serve`` (the HTTP benchmark's baseline uses
    them too, so that both are served alike)."""
    return {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
            "worker_class": "gthread", "accesslog": None, "keepalive": 5}  # fmt: skip


def run_gunicorn(
    load: Callable[[], Any],
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = DEFAULT_WORKERS,
    threads: int = DEFAULT_THREADS,
    hooks: dict[str, Any] | None = None,
) -> None:
    """Serve the WSGI app that ``load()`` builds with :func:`gunicorn_options` (and
    gunicorn server ``hooks``)."""
    from gunicorn.app.base import BaseApplication

    hooks = hooks or {}

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in {**gunicorn_options(host, port, workers, threads),
                                **hooks}.items():  # fmt: skip
                self.cfg.set(name, value)

        def load(self) -> Any:
            return built_and_frozen(load)

    Server().run()


def built_and_frozen(load: Callable[[], Any]) -> Any:
    """``load()``, then every object made so far (the modules, the app, its engine) moved
    out of the cyclic collector's reach (:func:`gc.freeze`): a full collection then
    sweeps only what requests left behind, about 1 ms instead of 70 ms that stalled
    the requests of the worker (``docs/benchmarks-http.md``)."""
    app = load()
    gc.freeze()
    return app


def _import_worker_hooks() -> dict[str, Any]:
    """gunicorn hooks that start ``databank worker`` once the server is ready and stop
    it when the server exits: the embedded default needs no second command."""
    started: list[subprocess.Popen[bytes]] = []

    def when_ready(server: Any) -> None:
        started.append(subprocess.Popen([sys.executable, "-m", "api.cli", "worker"]))
        server.log.info("import worker started (pid %s)", started[-1].pid)

    def on_exit(server: Any) -> None:
        for process in started:
            process.terminate()
            process.wait(timeout=30)

    return {"when_ready": when_ready, "on_exit": on_exit}


def run() -> None:
    """Entry point that turns domain errors into a clear message and exit code 1."""
    try:
        main(standalone_mode=True)
    except DatabankError as exc:
        details = "".join(f"\n  {field}: {why}" for field, why in exc.errors.items())
        click.echo(f"error: {exc.detail}{details}", err=True)
        sys.exit(1)


for command in (demo, import_command, imports, worker):
    main.add_command(command)

if __name__ == "__main__":  # ``python -m api.cli``: how ``serve`` starts its worker
    run()
