"""The hot paths in-process: CPU time and SQL statements per request.

Steadier than wrk on a shared machine: the same request mix as ``http_bench.py``
(``benchmarks/wrk/identify.lua``, ``resolve.lua``) goes through Flask's test client in
one thread, against a fresh SQLite file or PostgreSQL database with a pre-loaded
population; the figures are CPU microseconds of this process per request (on
PostgreSQL the server's own CPU is not in it), the wall time per request and its 99th
percentile (one request at a time: no queueing, so a slow step of one request in a
hundred, such as a WAL checkpoint, shows), and statements per request
(:func:`_count_statements`).

    PYTHONPATH=. python benchmarks/hot_profile.py --backend sqlite --requests 3000
    PYTHONPATH=. python benchmarks/hot_profile.py --endpoints identify --profile out.prof

Run it with ``PYTHONPATH`` at another checkout to measure that checkout's code.
"""

from __future__ import annotations

import argparse
import cProfile
import random
import secrets
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event

from api import create_app
from benchmarks.bare_app import create_bare_app
from benchmarks.http_bench import POSTGRES, SECRET, databases, prepare
from identity.settings import Settings

LAG = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--endpoints", default="bare,resolve,identify", help="to measure")
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3, help="report the median round")
    parser.add_argument("--persons", type=int, default=5000, help="pre-loaded persons")
    parser.add_argument("--active", type=int, help="resolve only the first N persons "
                        "(a hot set whose identifiers come again; default: all)")  # fmt: skip
    parser.add_argument("--profile", help="write a cProfile of one more round here")
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="databank-hot-") as tmp,
        databases([args.backend], Path(tmp), args.postgres) as urls,
    ):
        url = urls[args.backend]
        key = prepare(url, args.persons)
        app = create_app(_settings(url, Path(tmp)))
        counter = _count_statements(app)
        for endpoint in args.endpoints.split(","):
            client = (create_bare_app() if endpoint == "bare" else app).test_client()
            _measure(client, endpoint, {"Authorization": f"Bearer {key}"}, counter, args)
        app.extensions["databank"].store.engine.dispose()


def _measure(
    client: Any, endpoint: str, headers: dict[str, str], counter: list[int], args: Any
) -> None:
    path = "/bare" if endpoint == "bare" else f"/v1/{endpoint}"
    bodies = _bodies(endpoint, args.persons, args.active)
    for _ in range(50):  # warm up: compile statements, fill caches
        client.post(path, json=next(bodies), headers=headers)
    rounds = [_round(client, path, bodies, headers, args.requests, counter, None)
              for _ in range(args.rounds)]  # fmt: skip
    if args.profile:  # one more round, under the profiler
        profiler = cProfile.Profile(time.process_time)
        _round(client, path, bodies, headers, args.requests, counter, profiler)
        profiler.dump_stats(f"{args.profile}.{endpoint}")
    cpu = statistics.median(r["cpu_us"] for r in rounds)
    wall = statistics.median(r["wall_us"] for r in rounds)
    statements = statistics.median(r["statements"] for r in rounds)
    p99 = statistics.median(r["p99_ms"] for r in rounds)
    answers = sum((r["answers"] for r in rounds), Counter())
    print(f"{args.backend} {endpoint:8s} cpu {cpu:6.0f} us/req  wall {wall:6.0f} us/req  "
          f"p99 {p99:5.1f} ms  "
          f"{statements:5.2f} statements/req  rounds cpu {[round(r['cpu_us']) for r in rounds]}"
          f"  {dict(answers)}", flush=True)  # fmt: skip


def _settings(url: str, tmp: Path) -> Settings:
    return Settings(url, SECRET.encode(), tmp / "var")


def _round(client: Any, path: str, bodies: Iterator[dict[str, Any]],
           headers: dict[str, str], n: int, counter: list[int],
           profiler: cProfile.Profile | None) -> dict[str, Any]:  # fmt: skip
    batch = [next(bodies) for _ in range(n)]
    answers: Counter[str] = Counter()
    counter[0] = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    walls = []
    for body in batch:
        started = time.perf_counter()
        answer = client.post(path, json=body, headers=headers)
        walls.append(time.perf_counter() - started)
        answers[answer.json.get("outcome", str(answer.status_code))] += 1
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    p99 = statistics.quantiles(walls, n=100)[98] if n > 1 else walls[0]
    return {"cpu_us": cpu / n * 1e6, "wall_us": wall / n * 1e6, "p99_ms": p99 * 1e3,
            "statements": counter[0] / n, "answers": answers}  # fmt: skip


def _count_statements(app: Any) -> list[int]:
    """A counter of the statements the store's connections send, whichever way: SQLite
    traces each one it runs (``BEGIN`` and ``COMMIT`` included, each row of an
    ``executemany``); on PostgreSQL each execute, each ``BEGIN`` psycopg sends and each
    commit counts."""
    counter = [0]
    engine = app.extensions["databank"].store.engine

    def count(*_: Any) -> None:
        counter[0] += 1

    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _trace(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.set_trace_callback(count)

        return counter

    import psycopg

    class Counted(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            count()
            return super().execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> Any:
            count()
            return super().executemany(*args, **kwargs)

    @event.listens_for(engine, "connect")
    def _cursors(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.cursor_factory = Counted

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if not connection.connection.driver_connection.autocommit:
            count()

    event.listen(engine, "commit", count)
    return counter


def _bodies(endpoint: str, persons: int, active: int | None = None) -> Iterator[dict[str, Any]]:
    if endpoint == "identify":
        return _identify_bodies(persons)
    return _resolve_bodies(active or persons)  # the bare endpoint reads the same bodies


def _uuid(i: int) -> str:
    return f"{i:08X}-0000-4000-8000-{i:012X}"


def _phone(i: int) -> str:
    return f"+86 139 {i:08d}"


def _resolve_bodies(persons: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(7)
    while True:
        i, shape = rng.randrange(persons), rng.randrange(3)
        if shape == 0:
            ids = [{"kind": "phone", "value": _phone(i)}]
        elif shape == 1:
            ids = [{"kind": "wechat_openid", "scope": "wx_mp1", "value": f"o-{i}"},
                   {"kind": "idfa", "value": _uuid(i)}]  # fmt: skip
        else:
            ids = [{"kind": "login_id", "scope": "app", "value": f"u-{i}"}]
        yield {"identifiers": ids}


def _identify_bodies(persons: int) -> Iterator[dict[str, Any]]:
    """The cycle of ``benchmarks/wrk/identify.lua`` (one wrk thread)."""
    rng = random.Random(11)
    nonce = secrets.token_hex(4).upper()

    def key(k: int) -> str:
        return f"{nonce}-1-{k}"

    def ident(kind: str, scope: str | None, value: str) -> dict[str, str]:
        return (
            {"kind": kind, "scope": scope, "value": value}
            if scope
            else {"kind": kind, "value": value}
        )

    def frag_a(k: int) -> dict[str, str]:
        return ident("wechat_openid", "wx_mp2", f"a-{key(k)}")

    def frag_b(k: int) -> dict[str, str]:
        return ident("alipay_openid", "ali_mp1", f"b-{key(k)}")

    cycle = 0
    while True:
        for s in range(10):
            if s == 0:
                yield {"identifiers": [frag_a(cycle), ident("idfa", None,
                       f"{nonce}-{1:04X}-4000-9000-{cycle:012X}")], "channel": "wechat_mp",
                       "traits": {"consumption_level": "mid"}}  # fmt: skip
            elif s == 2:
                yield {"identifiers": [frag_b(cycle)], "channel": "alipay_mp", "tags": ["skincare"]}
            elif s == 4 and cycle >= LAG:
                yield {
                    "identifiers": [frag_a(cycle - LAG)],
                    "channel": "wechat_mp",
                    "tags": ["tea"],
                }
            elif s == 6 and cycle >= LAG:
                k = cycle - LAG
                yield {"identifiers": [ident("wechat_unionid", "open1", f"u-{key(k)}"),
                                       frag_a(k), frag_b(k)],
                       "channel": "wechat_mp", "event": "bind"}  # fmt: skip
            else:
                yield _population_match(rng, persons, s % 4 + 1, key(cycle))
        cycle += 1


def _population_match(rng: random.Random, persons: int, variant: int, k: str) -> dict[str, Any]:
    i = rng.randrange(persons)
    if variant == 1:
        return {"identifiers": [{"kind": "login_id", "scope": "app", "value": f"u-{i}"},
                                {"kind": "idfa", "value": _uuid(i)}], "channel": "app",
                "event": "login", "traits": {"membership_level": "gold"}}  # fmt: skip
    if variant == 2:
        return {"identifiers": [{"kind": "phone", "value": _phone(i)}], "channel": "crm",
                "message_id": f"m-{k}", "tags": ["tea"]}  # fmt: skip
    if variant == 3:
        return {"identifiers": [{"kind": "login_id", "scope": "app", "value": f"u-{i}"},
                                {"kind": "oaid", "value": f"d-{k}"}], "channel": "app",
                "event": "open"}  # fmt: skip
    return {
        "identifiers": [{"kind": "wechat_openid", "scope": "wx_mp1", "value": f"o-{i}"}],
        "channel": "wechat_mp",
        "event": "view",
        "tags": ["air_purifier"],
    }


if __name__ == "__main__":
    main()
