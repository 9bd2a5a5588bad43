"""Batch import speed: Databank against a floor and a naive stack, on one generated file.

    python benchmarks/import_bench.py                          # 1,000,000 rows, SQLite
    python benchmarks/import_bench.py --backend both           # and PostgreSQL
    python benchmarks/import_bench.py --rows 10000000 --stages databank   # peak memory

The file is an app login log of ``identity.synthetic`` (``--rows`` rows, kept under
``benchmarks/data/`` for the next run). Every stage runs in a child process of its own
against a fresh database, so its wall time, CPU time and peak RSS are its alone:

- floor: polars CSV parse + integer-encoded identifiers + scipy connected components +
  one bulk write of the identifier -> person map into SQLite (``import_stages.py``);
- naive: csv module + networkx connected components + SQLAlchemy Core inserts of the map;
- databank: ``databank import FILE --preset app-login --tag tags`` into an empty
  workspace, end to end (parse, screening, engine, writes, checkpoints);
- upload: the same import through the other entry point: ``databank serve`` (its
  defaults, with the import worker it starts) takes the file as ``POST /v1/imports``
  (multipart, ``preset=app-login``, ``tag=tags``) and the stage polls
  ``GET /v1/imports/{id}`` until it is done. Wall time runs from the upload's first
  byte to the status ``done``; CPU time is that of every process of the server over
  the same span; peak RSS the largest of them over the server's life.

Goals (issue 3): databank / floor <= 2.0, databank / naive <= 0.5, peak RSS of 10 M rows
< 8 GB. Ratios are given on wall time and on CPU time (user + system), the latter being
steadier on a shared machine; the load average is recorded beside each figure. The
results also go to ``benchmarks/results/import-<rows>-<time>.json``.
"""

from __future__ import annotations

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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from identity.synthetic import write_csv

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "benchmark-secret-0123456789abcdef"
NAIVE_MAX_ROWS = 2_000_000  # networkx holds every identifier as Python objects


@click.command()
@click.option("--rows", type=int, default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--backend", type=click.Choice(["sqlite", "postgres", "both"]), default="sqlite",
              show_default=True)  # fmt: skip
@click.option("--stages", default="floor,naive,databank,upload", show_default=True,
              help="Comma-separated: floor, naive, databank, upload.")  # fmt: skip
@click.option("--repeat", type=int, default=1, show_default=True, help="Runs per stage (median).")
@click.option("--postgres-url", default=POSTGRES, show_default=True)
def main(rows: int, seed: int, backend: str, stages: str, repeat: int, postgres_url: str) -> None:
    """Print the figures and ratios of one run and write them as JSON."""
    path = _export(rows, seed)
    wanted = [s.strip() for s in stages.split(",") if s.strip()]
    if rows > NAIVE_MAX_ROWS and "naive" in wanted:
        click.echo(f"naive skipped above {NAIVE_MAX_ROWS:,} rows (networkx memory)")
        wanted.remove("naive")
    backends = ["sqlite", "postgres"] if backend == "both" else [backend]
    results: dict[str, Any] = {"rows": rows, "seed": seed, "file": str(path),
                               "file_mb": round(path.stat().st_size / 1e6, 1),
                               "cpus": os.cpu_count(),
                               "started": datetime.now(UTC).isoformat(timespec="seconds"),
                               "stages": {}}  # fmt: skip
    for stage in wanted:
        for where in backends if stage in ("databank", "upload") else ["sqlite"]:
            name = f"{stage}_{where}"
            runs = [_run(stage, where, path, postgres_url) for _ in range(repeat)]
            results["stages"][name] = _median(runs)
            click.echo(f"{name}: {_line(results['stages'][name], rows)}", err=True)
    results["ratios"] = _ratios(results["stages"])
    _print(results)
    _save(results)


def _export(rows: int, seed: int) -> Path:
    folder = HERE / "data" / f"app_login-{rows}-{seed}"
    path = folder / "app_login.csv"
    if not path.exists():
        started = time.perf_counter()
        write_csv(folder, rows, seed, kinds=["app_login"])
        click.echo(f"generated {path} in {time.perf_counter() - started:.0f} s", err=True)
    return path


def _run(stage: str, where: str, path: Path, postgres_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        folder = Path(tmp)
        if stage in ("floor", "naive"):
            command = [sys.executable, HERE / "import_stages.py", stage, path, folder / "map.db"]
            return _child(command, os.environ.copy())
        with _database(where, folder, postgres_url) as url:
            env = os.environ | {"DATABANK_DATABASE_URL": url, "DATABANK_SECRET_KEY": SECRET,
                                "DATABANK_VAR_DIR": str(folder / "var")}  # fmt: skip
            subprocess.run([BIN / "databank", "db", "upgrade"], env=env, check=True,
                           capture_output=True)  # fmt: skip
            subprocess.run([BIN / "databank", "workspace", "create", "bench"], env=env,
                           check=True, capture_output=True)  # fmt: skip
            if stage == "upload":
                return _upload(path, env)
            command = [BIN / "databank", "import", path, "--workspace", "bench",
                       "--preset", "app-login", "--tag", "tags", "--json"]  # fmt: skip
            return _child(command, env)


def _upload(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """The import of ``path`` through ``POST /v1/imports`` to ``databank serve``."""
    command = [str(BIN / "databank"), "key", "create", "--workspace", "bench",
               "--scope", "ingest", "--scope", "read"]  # fmt: skip
    key = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    headers = {"Authorization": f"Bearer {key.strip()}"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    serve = [str(BIN / "databank"), "serve", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(serve, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            _wait_for(base, server, log)
            load, cpu, started = os.getloadavg()[0], _tree_cpu(server.pid), time.perf_counter()
            with path.open("rb") as file:
                answer = requests.post(f"{base}/v1/imports", headers=headers, timeout=600,
                                       files={"file": (path.name, file, "text/csv")},
                                       data={"preset": "app-login", "tag": ["tags"]})  # fmt: skip
            if answer.status_code != 202:
                raise click.ClickException(f"upload refused: {answer.status_code} {answer.text}")
            status = _until_done(base + answer.headers["Location"], headers)
            wall, cpu = time.perf_counter() - started, _tree_cpu(server.pid) - cpu
        finally:
            os.killpg(server.pid, signal.SIGTERM)
        _, _, usage = os.wait4(server.pid, 0)
    if status["status"] != "done":
        raise click.ClickException(f"the uploaded import failed: {status}")
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2), "output": status}  # fmt: skip


def _wait_for(base: str, server: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + 60
    while server.poll() is None and time.monotonic() < deadline:
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    log.seek(0)
    raise click.ClickException(f"databank serve did not start: {log.read()[-2000:]!r}")


def _until_done(url: str, headers: dict[str, str]) -> dict[str, Any]:
    while True:
        status: dict[str, Any] = requests.get(url, headers=headers, timeout=60).json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.25)


def _tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its living descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, used = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            parents[int(entry.name)] = int(fields[1])
            used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += used.get(pid, 0.0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


@contextmanager
def _database(where: str, folder: Path, postgres_url: str) -> Iterator[str]:
    if where == "sqlite":
        yield f"sqlite:///{folder / 'databank.sqlite'}"
        return
    admin_url = make_url(postgres_url).set(drivername="postgresql+psycopg")
    name = f"databank_bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _child(command: list[Any], env: dict[str, str]) -> dict[str, Any]:
    """Run one stage; its wall time, CPU time and peak RSS from ``wait4``."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen([str(c) for c in command], env=env, stdout=subprocess.PIPE)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise click.ClickException(f"{command[1]} {command[2]} failed: {out[-2000:]!r}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2), "output": _output(out)}  # fmt: skip


def _output(out: bytes) -> Any:
    try:
        return json.loads(out)
    except ValueError:
        return out.decode()[-500:]


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = dict(runs[len(runs) // 2])
    for key in ("wall_s", "cpu_s", "peak_rss_mb"):
        best[key] = statistics.median(r[key] for r in runs)
    best["runs"] = len(runs)
    best["wall_all"] = [r["wall_s"] for r in runs]
    return best


def _ratios(stages: dict[str, Any]) -> dict[str, float]:
    pairs = [("databank_sqlite", "floor_sqlite"), ("databank_sqlite", "naive_sqlite"),
             ("databank_postgres", "databank_sqlite"), ("upload_sqlite", "databank_sqlite"),
             ("upload_postgres", "databank_postgres")]  # fmt: skip
    return {
        f"{top} / {bottom} ({measure[:-2]})": round(
            stages[top][measure] / stages[bottom][measure], 2
        )
        for top, bottom in pairs
        if top in stages and bottom in stages
        for measure in ("wall_s", "cpu_s")
    }


def _line(stage: dict[str, Any], rows: int) -> str:
    load = f"{stage['load_before']:.1f} -> {stage['load_after']:.1f}"
    return (f"{stage['wall_s']:9.1f}{stage['cpu_s']:9.1f}{rows / stage['wall_s']:11,.0f}"
            f"{stage['peak_rss_mb']:10,}   {load}")  # fmt: skip


def _print(results: dict[str, Any]) -> None:
    click.echo(f"\n{results['rows']:,} rows ({results['file_mb']} MB CSV), "
               f"{results['cpus']} CPUs, load average {os.getloadavg()}")  # fmt: skip
    click.echo(f"{'stage':<19}{'wall s':>9}{'CPU s':>9}{'rows/s':>11}{'RSS MB':>10}   load")
    for name, stage in results["stages"].items():
        click.echo(f"{name:<19}{_line(stage, results['rows'])}")
    for name, ratio in results["ratios"].items():
        click.echo(f"{name:<44}{ratio:6.2f}")


def _save(results: dict[str, Any]) -> None:
    folder = HERE / "results"
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"import-{results['rows']}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    shutil.copy(path, folder / f"import-{results['rows']}-latest.json")
    click.echo(f"results in {path}")


if __name__ == "__main__":
    main()
