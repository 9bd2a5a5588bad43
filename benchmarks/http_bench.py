"""The online hot paths over HTTP: ``POST /v1/resolve`` and ``POST /v1/identify``.

Serves the API with the default ``databank serve`` settings (gunicorn, gthread) on a
fresh SQLite file and a fresh PostgreSQL database (each migrated with ``databank db
upgrade``, one workspace, one key and a pre-loaded population of persons so that
lookups hit real indexes), and in the same run a bare Flask app (``bare_app.py``, one
trivial JSON POST view) under the same gunicorn settings as the baseline. Loads them
with wrk (Lua scripts in ``benchmarks/wrk/``), one server at a time:

1. the maximum rate: wrk at several connection counts, the best counts;
2. the latency at half that rate: wrk with a per-thread fixed-rate schedule (Lua
   ``delay()``), p50 and p99.

Figures are medians over ``--runs``; the JSON goes to ``benchmarks/results/``.

    PYTHONPATH=. python benchmarks/http_bench.py                       # both backends
    PYTHONPATH=. python benchmarks/http_bench.py --backend sqlite --duration 5 --runs 1

wrk comes from Debian: ``apt-get install -y wrk`` (as root).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from identity.ids import new_id
from identity.normalise import KeyedHasher
from identity.observation import RawIdentifier, screen
from identity.policy import default_policy
from identity.resolution import strength_key
from identity.services.workspaces import Workspaces
from identity.store.database import create_store_engine
from identity.store.models import IdentifierRow, Link, Person, PersonChannel, PersonTrait, table
from identity.store.uow import Store

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "http-bench-secret-0123456789abcdef"
GOALS = {"resolve": 0.70, "identify": 0.40}
P99_GOAL_MS = 25.0
WRK_THREADS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="report medians over runs")
    parser.add_argument("--persons", type=int, default=20_000, help="pre-loaded persons")
    parser.add_argument("--connections", default="8,32,64", help="for the maximum rate")
    parser.add_argument("--endpoints", default="resolve,identify", help="of the API")
    parser.add_argument("--workers", type=int, help="override databank serve's default")
    parser.add_argument("--threads", type=int, help="override databank serve's default")
    parser.add_argument("--label", default="", help="a name for this run in the JSON")
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL of the server")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk (as root), then run again")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    connections = [int(c) for c in args.connections.split(",")]
    serving = [f"--{name}={getattr(args, name)}" for name in ("workers", "threads")
               if getattr(args, name)]  # fmt: skip
    endpoints = [e for e in ("resolve", "identify") if e in args.endpoints.split(",")]
    started = datetime.now(UTC)
    load_before = os.getloadavg()

    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="databank-bench-") as tmp,
        databases(backends, Path(tmp), args.postgres) as urls,
    ):
        keys = {name: prepare(url, args.persons) for name, url in urls.items()}
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            figures: dict[str, Any] = {}
            with bare_server(serving) as url:
                figures["bare"] = measure(url, "bare", "", args, connections)
            for name, db_url in urls.items():
                with databank_server(db_url, Path(tmp), serving) as url:
                    for endpoint in endpoints:
                        figures[f"{endpoint}/{name}"] = measure(
                            url, endpoint, keys[name], args, connections
                        )
            runs.append(figures)

    rows = summarise(runs, backends, endpoints)
    print_table(rows, args, load_before)
    write_json(rows, runs, args, started, load_before)


# -- databases ------------------------------------------------------------------------
@contextmanager
def databases(backends: list[str], tmp: Path, admin_url: str) -> Iterator[dict[str, str]]:
    """A fresh database per backend, migrated; PostgreSQL's is dropped afterwards."""
    urls = {}
    if "sqlite" in backends:
        urls["sqlite"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    name = f"databank_bench_{os.getpid()}"
    admin = None
    if "postgres" in backends:
        import psycopg

        admin = psycopg.connect(admin_url, autocommit=True)
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
        urls["postgres"] = make_url(admin_url).set(database=name).render_as_string(False)
    try:
        for url in urls.values():
            subprocess.run([BIN / "databank", "db", "upgrade"], env=_env(url, tmp), check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
        yield urls
    finally:
        if admin is not None:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.close()


def prepare(url: str, persons: int) -> str:
    """Create the workspace ``bench`` with its population; return an API key of it."""
    store = Store(create_store_engine(url))
    workspaces = Workspaces(store, KeyedHasher(SECRET.encode()))
    workspace_id = workspaces.create("bench")
    key = workspaces.create_key("bench", ["ingest", "read"])
    t0 = time.perf_counter()
    load_population(store, workspace_id, persons)
    print(f"{store.engine.dialect.name}: {persons} persons loaded in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    store.engine.dispose()
    return key


def population_identifiers(i: int) -> list[RawIdentifier]:
    """Person i of the population: the same values the wrk scripts send."""
    return [
        RawIdentifier("login_id", f"u-{i}", "app"),
        RawIdentifier("phone", f"+86 139 {i:08d}"),
        RawIdentifier("wechat_openid", f"o-{i}", "wx_mp1"),
        RawIdentifier("idfa", f"{i:08X}-0000-4000-8000-{i:012X}"),
    ]


def load_population(store: Store, workspace_id: int, n: int) -> None:
    """Persons with four identifiers each (linked from the strongest), a channel and a
    trait, as identify would have stored them."""
    policy, hasher = default_policy(), KeyedHasher(SECRET.encode())
    key = strength_key(policy)
    start = datetime.now(UTC) - timedelta(days=365)
    persons, identifiers, channels, traits = [], [], [], []
    for i in range(n):
        pid, at = new_id("p_"), start + timedelta(seconds=i * 60)
        persons.append({"id": pid, "workspace_id": workspace_id, "created_at": at,
                        "updated_at": at, "activity": [0] * 9 + [1] + [0] * 14})  # fmt: skip
        accepted = screen(population_identifiers(i), policy, hasher).accepted
        identifiers += [
            {"workspace_id": workspace_id, "kind": x.kind, "scope": x.scope, "value": x.value,
             "person_id": pid, "first_seen": at, "last_seen": at}
            for x in sorted(accepted, key=key)
        ]  # fmt: skip
        base = {"person_id": pid, "workspace_id": workspace_id}
        channels.append({**base, "channel": "app", "count": 1, "first_seen": at, "last_seen": at})
        traits.append({**base, "name": "membership_level", "value": "silver",
                       "value_text": "silver", "updated_at": at, "source": "app"})  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(table(Person)), persons)
        conn.execute(insert(table(IdentifierRow)), identifiers)
        conn.execute(insert(table(PersonChannel)), channels)
        conn.execute(insert(table(PersonTrait)), traits)
        t = table(IdentifierRow).c
        by_person: dict[str, list[int]] = {}
        for row_id, pid in conn.execute(select(t.id, t.person_id).order_by(t.id)):
            by_person.setdefault(pid, []).append(row_id)
        links = [
            {"workspace_id": workspace_id, "source_id": head, "target_id": target,
             "first_seen": start, "last_seen": start, "count": 1, "channels": ["app"],
             "first_message_id": None}
            for head, *rest in by_person.values() for target in rest
        ]  # fmt: skip
        conn.execute(insert(table(Link)), links)


# -- servers --------------------------------------------------------------------------
def _env(url: str, tmp: Path) -> dict[str, str]:
    return {**os.environ, "DATABANK_DATABASE_URL": url, "DATABANK_SECRET_KEY": SECRET,
            "DATABANK_VAR_DIR": str(tmp / "var"), "PYTHONPATH": str(ROOT)}  # fmt: skip


@contextmanager
def databank_server(url: str, tmp: Path, serving: list[str]) -> Iterator[str]:
    """``databank serve`` with its defaults but the port (and ``serving`` options)."""
    port = _free_port()
    command = [str(BIN / "databank"), "serve", "--port", str(port), *serving]
    with _serving(command, _env(url, tmp), port, "/healthz") as base:
        yield base


@contextmanager
def bare_server(serving: list[str]) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, str(HERE / "bare_app.py"), "--port", str(port), *serving]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with _serving(command, env, port, "/") as base:
        yield base


@contextmanager
def _serving(command: list[str], env: dict[str, str], port: int, probe: str) -> Iterator[str]:
    with tempfile.TemporaryFile() as log:
        yield from _run_server(command, env, port, probe, log)


def _run_server(
    command: list[str], env: dict[str, str], port: int, probe: str, log: Any
) -> Iterator[str]:
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + probe, timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    sys.exit(f"server did not start: {log.read().decode()[-2000:]}")
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- load -----------------------------------------------------------------------------
def measure(
    base: str, endpoint: str, key: str, args: argparse.Namespace, connections: list[int]
) -> dict[str, Any]:
    """The best rate over the connection counts, then latency at half of it."""
    path = "/bare" if endpoint == "bare" else f"/v1/{endpoint}"
    wrk(base + path, endpoint, key, args.persons, 8, 2, 0)  # warm up every worker
    attempts = {c: wrk(base + path, endpoint, key, args.persons, c, args.duration, 0)
                for c in connections}  # fmt: skip
    best_c = max(attempts, key=lambda c: attempts[c]["rate"])
    best = attempts[best_c]
    target = best["rate"] / 2
    # enough connections that a slow answer never delays the schedule
    fixed = wrk(base + path, endpoint, key, args.persons, max(connections), args.duration, target)
    print(f"  {endpoint:8s} {best['rate']:8.0f} req/s at {best_c} connections; at "
          f"{fixed['rate']:.0f} req/s p50 {fixed['p50_ms']:.1f} ms p99 {fixed['p99_ms']:.1f} ms"
          f"{_problems(best, fixed)}", flush=True)  # fmt: skip
    return {"max": best, "connections": best_c, "by_connections": attempts, "half": fixed}


def _problems(*results: dict[str, Any]) -> str:
    errors = sum(r["status_errors"] + r["socket_errors"] + r["timeouts"] for r in results)
    return f"  ({errors} errors)" if errors else ""


def wrk(
    url: str, endpoint: str, key: str, persons: int, connections: int, duration: int, rate: float
) -> dict[str, Any]:
    """One wrk run; ``rate`` > 0 paces requests at that total rate."""
    script = (HERE / "wrk" / "common.lua").read_text() + (
        HERE / "wrk" / f"{endpoint}.lua"
    ).read_text()
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as handle:
        handle.write(script)
        handle.flush()
        nonce = secrets.token_hex(4).upper()
        command = ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{duration}s",
                   "--timeout", "10s", "-s", handle.name, url, "--", str(persons), nonce, key,
                   str(rate / WRK_THREADS)]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    result: dict[str, Any] = json.loads(line[len("BENCH ") :])
    ok = result["requests"] - result["status_errors"]
    result["rate"] = ok / (result["duration_us"] / 1e6)
    result["p50_ms"], result["p99_ms"] = result["p50_us"] / 1000, result["p99_us"] / 1000
    return result


# -- report ---------------------------------------------------------------------------
def summarise(
    runs: list[dict[str, Any]], backends: list[str], endpoints: list[str]
) -> list[dict[str, Any]]:
    """Medians over the runs; each ratio is taken against the bare rate of its own run."""
    rows = []
    for endpoint, backend in [("bare", "-")] + [(e, b) for e in endpoints for b in backends]:
        name = "bare" if endpoint == "bare" else f"{endpoint}/{backend}"
        per_run = [r[name] for r in runs]
        ratios = [r[name]["max"]["rate"] / r["bare"]["max"]["rate"] for r in runs]
        rows.append({
            "endpoint": endpoint, "backend": backend,
            "rate": statistics.median(m["max"]["rate"] for m in per_run),
            "ratio": statistics.median(ratios),
            "half_rate": statistics.median(m["half"]["rate"] for m in per_run),
            "p50_ms": statistics.median(m["half"]["p50_ms"] for m in per_run),
            "p99_ms": statistics.median(m["half"]["p99_ms"] for m in per_run),
            "errors": sum(m["max"]["status_errors"] + m["half"]["status_errors"]
                          for m in per_run),
            "goal": GOALS.get(endpoint),
        })  # fmt: skip
    return rows


def print_table(
    rows: list[dict[str, Any]], args: argparse.Namespace, load: tuple[float, ...]
) -> None:
    print(f"\nmedians of {args.runs} run(s) of {args.duration} s, {args.persons} persons, "
          f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    print(
        "| endpoint | backend | req/s | ratio to bare (goal) | at req/s | p50 ms | p99 ms "
        "(goal < 25) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        goal = "" if r["goal"] is None else f" (>= {r['goal']:.2f})"
        mark = "" if r["goal"] is None else (" ok" if r["ratio"] >= r["goal"] else " MISS")
        p99_mark = " ok" if r["p99_ms"] < P99_GOAL_MS else " MISS"
        print(f"| {r['endpoint']} | {r['backend']} | {r['rate']:.0f} "
              f"| {r['ratio']:.2f}{goal}{mark} | {r['half_rate']:.0f} | {r['p50_ms']:.1f} "
              f"| {r['p99_ms']:.1f}{p99_mark} |")  # fmt: skip
    if any(r["errors"] for r in rows):
        print("non-2xx answers:", {f"{r['endpoint']}/{r['backend']}": r["errors"] for r in rows})


def write_json(rows: list[dict[str, Any]], runs: list[dict[str, Any]], args: argparse.Namespace,
               started: datetime, load: tuple[float, ...]) -> None:  # fmt: skip
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    path = out / f"http-{started:%Y%m%dT%H%M%S}{'-' + args.label if args.label else ''}.json"
    document = {"started": started.isoformat(), "label": args.label, "options": vars(args),
                "cores": os.cpu_count(), "load_before": load, "load_after": os.getloadavg(),
                "summary": rows, "runs": runs}  # fmt: skip
    path.write_text(json.dumps(document, indent=2, default=str))
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
