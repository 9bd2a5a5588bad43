"""Rows per second of ``apply_rows`` (bulk) against ``row_by_row`` (identify per row).

    PYTHONPATH=. python benchmarks/engine_bench.py --rows 200000 --backend sqlite
    PYTHONPATH=. python benchmarks/engine_bench.py --rows 200000 --backend postgres

Makes its own synthetic rows (persons with 1-3 devices, an app login, openids, some
phones; 0.5 % of rows carry one of a few junk devices shared by many), applies them in
chunks into a fresh workspace and prints rows/s. Not a test: a measuring tool.
"""

from __future__ import annotations

import argparse
import random
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from identity.imports.engine import apply_rows, row_by_row
from identity.imports.rows import ImportRow
from identity.normalise import KeyedHasher
from identity.observation import Observation, RawIdentifier
from identity.services.transactions import in_transaction
from identity.services.workspaces import Workspaces
from identity.store import schema
from identity.store.database import create_store_engine
from identity.store.uow import Store

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def synthetic_rows(count: int, seed: int = 7) -> list[ImportRow]:
    rng = random.Random(seed)
    persons = max(1, count // 3)
    junk = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20)]
    rows = []
    for n in range(count):
        p = rng.randrange(persons)
        own = [
            RawIdentifier("idfa", str(uuid.UUID(int=(p * 7 + rng.randrange(1 + p % 3)) + 1))),
            RawIdentifier("login_id", f"u{p}", "app"),
            RawIdentifier("wechat_openid", f"o{p}", f"wx{p % 4}"),
        ]
        if p % 3 == 0:
            own.append(RawIdentifier("phone", f"+86 138{p % 100000000:08d}"))
        picked = rng.sample(own, rng.randint(2, min(3, len(own))))
        if rng.random() < 0.005:
            picked[0] = RawIdentifier("idfa", rng.choice(junk))
        observation = Observation(
            picked,
            timestamp=T0 + timedelta(seconds=n),
            channel=rng.choice(["app", "mini"]),
            traits={"membership_level": rng.choice(["gold", "silver"])} if n % 5 == 0 else {},
            tags=["tea"] if n % 7 == 0 else (),
        )
        rows.append(ImportRow(n + 2, observation))
    return rows


def fresh_url(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    admin = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    name = f"databank_bench_{secrets.token_hex(4)}"
    with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return admin.rsplit("/", 1)[0] + f"/{name}"


def run(rows: list[ImportRow], backend: str, engine_name: str, chunk: int) -> str:
    url = fresh_url(backend)
    schema.upgrade(url)
    store = Store(create_store_engine(url))
    workspaces = Workspaces(store, KeyedHasher(b"bench-secret-0123456789"), ttl=0)
    ws = workspaces.context(workspaces.create("bench"))
    engine = apply_rows if engine_name == "bulk" else row_by_row
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        in_transaction(store, lambda uow, part=part: engine(uow, ws, part, "import:bench"))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    store.engine.dispose()
    return (
        f"{len(rows) / elapsed:,.0f} rows/s ({len(rows) / cpu:,.0f} per CPU second of this process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--slow-rows", type=int, default=5_000, help="rows for row_by_row")
    parser.add_argument("--engine", choices=["both", "bulk", "slow"], default="both")
    args = parser.parse_args()
    rows = synthetic_rows(args.rows)
    if args.engine in ("both", "bulk"):
        fast = run(rows, args.backend, "bulk", args.chunk)
        print(f"apply_rows  {args.backend}: {len(rows)} rows, {fast}")
    if args.engine in ("both", "slow"):
        slow = run(rows[: args.slow_rows], args.backend, "slow", args.chunk)
        print(f"row_by_row  {args.backend}: {args.slow_rows} rows, {slow}")


if __name__ == "__main__":
    main()
