"""Audience search and channel overlap on a large workspace, SQLite and PostgreSQL.

Bulk-loads N persons with realistic channel, tag and trait distributions straight into
a migrated database (plain multi-row inserts on SQLite, COPY on PostgreSQL), then times
through the service layer (median of several runs, warm cache):

- overlap of three channels (``GET /v1/insights/overlap?channels=app,wechat_mp,alipay_mp``)
- two-filter audience first pages: "App users of the last 30 days who read about air
  purifiers", and "gold members who read about air purifiers"

and, in the same run, the baselines: a plain ``COUNT(*)`` over the workspace's
person_channels rows, and the naive audience query that intersects the full sets
before ordering (what a query without person-ordered indexes has to do).

    PYTHONPATH=. python benchmarks/insights_bench.py              # 100,000 persons
    PYTHONPATH=. python benchmarks/insights_bench.py --full       # 1,000,000 persons
    PYTHONPATH=. python benchmarks/insights_bench.py --backend sqlite --persons 200000
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from identity.audience import Audience
from identity.normalise import KeyedHasher
from identity.services import audience
from identity.services.workspaces import Workspaces
from identity.store import schema
from identity.store.database import create_store_engine
from identity.store.profiles import channel_set
from identity.store.uow import Store

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CHANNELS = {"app": 0.55, "wechat_mp": 0.45, "alipay_mp": 0.25, "douyin_mp": 0.12, "crm": 0.3}
TAGS = ["air_purifier", "skincare", "tea", "coffee", "running", "baby", "pets", "travel",
        "gaming", "cooking", "fitness", "books", "wine", "camping", "fashion", "phones",
        "cars", "music", "movies", "garden"]  # fmt: skip
LEVELS = {"membership_level": (["silver", "gold", "platinum"], [0.35, 0.2, 0.05]),
          "consumption_level": (["low", "mid", "high"], [0.4, 0.3, 0.1])}  # fmt: skip
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BATCH = 50_000


def generate(n: int, seed: int = 7) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of persons, person_channels, person_tags, person_traits for workspace 1."""
    rng = np.random.default_rng(seed)
    ids = [f"p_{i:026d}" for i in range(n)]
    created = NOW - timedelta(days=365)
    rows: dict[str, list[tuple[Any, ...]]] = {"persons": [], "person_channels": [],
                                              "person_tags": [], "person_traits": []}  # fmt: skip
    activity = json.dumps([0] * 24)
    person_channels: list[list[str]] = [[] for _ in range(n)]
    any_channel = np.zeros(n, dtype=bool)
    for name, share in CHANNELS.items():
        members = rng.random(n) < share
        if name == "crm":  # everyone is seen somewhere
            members |= ~any_channel
        any_channel |= members
        ago = rng.exponential(40, n)
        for i in np.flatnonzero(members):
            person_channels[i].append(name)
            last = NOW - timedelta(days=float(ago[i]))
            rows["person_channels"].append((ids[i], name, 1, int(1 + ago[i] % 9),
                                            last - timedelta(days=30), last))  # fmt: skip
    rows["persons"] = [(pid, 1, created, created, None, None, activity, channel_set(names))
                       for pid, names in zip(ids, person_channels, strict=True)]  # fmt: skip
    weights = 1 / np.arange(1, len(TAGS) + 1)  # Zipf-like: few tags are common
    weights /= weights.sum()
    counts = rng.poisson(1.4, n)
    for i in range(n):
        k = min(int(counts[i]), len(TAGS))
        for tag in rng.choice(len(TAGS), size=k, replace=False, p=weights):
            rows["person_tags"].append((ids[i], TAGS[tag], 1, 1, NOW - timedelta(days=60),
                                        NOW - timedelta(days=int(i % 50))))  # fmt: skip
    for name, (values, shares) in LEVELS.items():
        draw = rng.random(n)
        edges = np.cumsum(shares)
        for i in np.flatnonzero(draw < edges[-1]):
            value = values[int(np.searchsorted(edges, draw[i], side="right"))]
            rows["person_traits"].append((ids[i], name, 1, json.dumps(value), value,
                                          NOW - timedelta(days=10), "crm"))  # fmt: skip
    points = rng.integers(0, 20_000, n)
    for i in range(n):
        rows["person_traits"].append((ids[i], "points", 1, str(points[i]), str(points[i]),
                                      NOW - timedelta(days=5), "app"))  # fmt: skip
    return rows


COLUMNS = {
    "persons": "id, workspace_id, created_at, updated_at, merged_into, merged_at, activity, "
    "channel_set",
    "person_channels": "person_id, channel, workspace_id, count, first_seen, last_seen",
    "person_tags": "person_id, tag, workspace_id, count, first_seen, last_seen",
    "person_traits": "person_id, name, workspace_id, value, value_text, updated_at, source",
}


def load_sqlite(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    engine = create_engine(url)
    raw = engine.raw_connection()
    cursor = raw.cursor()
    for name, data in rows.items():
        marks = ", ".join("?" for _ in COLUMNS[name].split(","))
        plain = [tuple(_sqlite_value(v) for v in row) for row in data]
        cursor.executemany(f"INSERT INTO {name} ({COLUMNS[name]}) VALUES ({marks})", plain)
    raw.commit()
    cursor.execute("ANALYZE")
    raw.commit()
    raw.close()
    engine.dispose()


def _sqlite_value(value: Any) -> Any:
    # The store keeps naive UTC date-times; SQLAlchemy writes them in ISO format.
    return value.replace(tzinfo=None).isoformat(" ") if isinstance(value, datetime) else value


def load_postgres(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    engine = create_engine(url)
    raw = engine.raw_connection()
    with raw.cursor() as cursor:  # type: ignore[attr-defined]
        # Set-up speed: the generated rows are consistent, skip the per-row FK triggers.
        cursor.execute("SET session_replication_role = replica")
        for name, data in rows.items():
            with cursor.copy(f"COPY {name} ({COLUMNS[name]}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row([v.replace(tzinfo=None) if isinstance(v, datetime) else v
                                    for v in row])  # fmt: skip
    raw.commit()
    raw.driver_connection.autocommit = True  # type: ignore[union-attr]  # VACUUM: the visibility map lets overlap scan the index only
    with raw.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("VACUUM ANALYZE")
    raw.close()
    engine.dispose()


def median_ms(work: Callable[[], Any], runs: int) -> tuple[float, Any]:
    result = work()  # warm the cache once
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def naive_page(store: Store, sql: str, params: dict[str, Any]) -> Callable[[], list[str]]:
    def run() -> list[str]:
        with store.engine.connect() as connection:
            return list(connection.execute(text(sql), params).scalars())

    return run


def measure(label: str, url: str, n: int, runs: int) -> None:
    store = Store(create_store_engine(url))
    ws = _workspaces(store).context_by_name("bench")
    since = NOW - timedelta(days=30)
    cases = {
        "overlap app,wechat_mp,alipay_mp": lambda: audience.overlap(
            store, ws, ["app", "wechat_mp", "alipay_mp"]),
        "App 30 days + tag air_purifier (page 50)": lambda: audience.search(
            store, ws, Audience(tags=("air_purifier",), channels=("app",), seen_since=since),
            None, 50),
        "trait gold + tag air_purifier (page 50)": lambda: audience.search(
            store, ws, Audience(tags=("air_purifier",),
                                traits=(("membership_level", "gold"),)), None, 50),
    }  # fmt: skip
    since_param = since.replace(tzinfo=None).isoformat(" ")
    params = {"ws": ws.id, "since": since_param if store.sqlite else since}
    baselines = {
        "baseline COUNT(*) person_channels": naive_page(
            store, "SELECT COUNT(*) FROM person_channels WHERE workspace_id = :ws", params),
        "baseline naive audience (intersect all, then order)": naive_page(store, (
            "SELECT person_id FROM (SELECT person_id FROM person_tags WHERE workspace_id = :ws"
            " AND tag = 'air_purifier' INTERSECT SELECT person_id FROM person_channels"
            " WHERE workspace_id = :ws AND channel = 'app' AND last_seen >= :since) AS m"
            " ORDER BY person_id LIMIT 50"), params),
    }  # fmt: skip
    figures = {}
    for name, work in {**cases, **baselines}.items():
        figures[name], result = median_ms(work, runs)
        detail = ""
        if isinstance(result, dict) and "per_channel" in result:
            detail = f"  per channel {result['per_channel']}"
        elif isinstance(result, dict):
            detail = f"  {len(result['persons'])} persons on the page"
        print(f"  {label:8} {name:52} {figures[name]:9.1f} ms{detail}")
    count = figures["baseline COUNT(*) person_channels"]
    naive = figures["baseline naive audience (intersect all, then order)"]
    overlap = figures["overlap app,wechat_mp,alipay_mp"]
    page = figures["App 30 days + tag air_purifier (page 50)"]
    print(f"  {label:8} overlap / COUNT(*) = {overlap / count:.2f}x;"
          f" naive audience / indexed page = {naive / page:.0f}x")  # fmt: skip
    store.engine.dispose()


def _workspaces(store: Store) -> Workspaces:
    return Workspaces(store, KeyedHasher(b"bench-secret-0123456789"), ttl=0)


def create_workspace(url: str) -> None:
    """The generated rows belong to workspace id 1: the first of a fresh database."""
    store = Store(create_store_engine(url))
    assert _workspaces(store).create("bench") == 1
    store.engine.dispose()


def databases(backends: list[str]) -> Iterator[tuple[str, str, Callable[[], None]]]:
    for backend in backends:
        if backend == "sqlite":
            folder = tempfile.TemporaryDirectory()
            yield "sqlite", f"sqlite:///{Path(folder.name) / 'bench.sqlite'}", folder.cleanup
        else:
            admin = create_engine(make_url(POSTGRES), isolation_level="AUTOCOMMIT")
            name = f"databank_bench_{secrets.token_hex(4)}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))

            def drop(name: str = name, admin: Any = admin) -> None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

            yield "postgres", make_url(POSTGRES).set(database=name).render_as_string(False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 persons")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    n = 1_000_000 if args.full else args.persons
    start = time.perf_counter()
    rows = generate(n)
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in rows.items())
    print(f"generated {n:,} persons in {time.perf_counter() - start:.0f} s: {sizes}")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for label, url, cleanup in databases(backends):
        try:
            schema.upgrade(url)
            create_workspace(url)
            start = time.perf_counter()
            (load_sqlite if label == "sqlite" else load_postgres)(url, rows)
            print(f"  {label:8} loaded in {time.perf_counter() - start:.0f} s;"
                  f" medians of {args.runs} warm runs:")  # fmt: skip
            measure(label, url, n, args.runs)
        finally:
            cleanup()


if __name__ == "__main__":
    main()
