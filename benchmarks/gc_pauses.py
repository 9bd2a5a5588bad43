"""Pauses of Python's cyclic garbage collector in a worker serving identify, with and
without the start-up objects frozen (``gc.freeze``, as ``databank serve`` does).

In process, one worker's view: the API on a fresh SQLite file with a pre-loaded
population, ``POST /v1/identify`` through Flask's test client (the request mix of
``hot_profile.py``), warmed up, then ``--requests`` requests with ``gc.callbacks``
timing each collection. Each mode runs in a child process of its own, so that the
frozen objects of one do not change the other.

    PYTHONPATH=. python benchmarks/gc_pauses.py --requests 20000
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api import create_app
from benchmarks.hot_profile import _bodies, _settings
from benchmarks.http_bench import databases, prepare

MODES = ("as-built", "frozen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--persons", type=int, default=5_000)
    parser.add_argument("--mode", choices=MODES, help="one mode, in this process")
    args = parser.parse_args()
    if args.mode:
        print(_measure(args.mode, args.requests, args.persons), flush=True)
        return
    for mode in MODES:
        command = [sys.executable, __file__, "--mode", mode, "--requests", str(args.requests),
                   "--persons", str(args.persons)]  # fmt: skip
        subprocess.run(command, check=True)


def _measure(mode: str, requests: int, persons: int) -> str:
    with (
        tempfile.TemporaryDirectory(prefix="databank-gc-") as tmp,
        databases(["sqlite"], Path(tmp), "") as urls,
    ):
        key = prepare(urls["sqlite"], persons)
        app = create_app(_settings(urls["sqlite"], Path(tmp)))
        client = app.test_client()
        bodies = _bodies("identify", persons)
        headers = {"Authorization": f"Bearer {key}"}
        for _ in range(200):  # warm up: caches, compiled statements
            client.post("/v1/identify", json=next(bodies), headers=headers)
        if mode == "frozen":
            gc.freeze()
        pauses: list[tuple[int, float]] = []
        started: list[float] = [0.0]

        def timed(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                pauses.append((info["generation"], time.perf_counter() - started[0]))

        gc.callbacks.append(timed)
        walls = []
        for _ in range(requests):
            body = next(bodies)
            at = time.perf_counter()
            client.post("/v1/identify", json=body, headers=headers)
            walls.append(time.perf_counter() - at)
        gc.callbacks.remove(timed)
        app.extensions["databank"].store.engine.dispose()
    q = statistics.quantiles(walls, n=1000)
    full = [seconds for generation, seconds in pauses if generation == 2]
    return (f"{mode:8s} tracked {len(gc.get_objects()):7d} frozen {gc.get_freeze_count():7d}  "
            f"full collections {len(full)}, longest {max(full, default=0) * 1e3:5.1f} ms  "
            f"requests: p99 {q[989] * 1e3:.2f} ms, p99.9 {q[998] * 1e3:.2f} ms, "
            f"slowest {max(walls) * 1e3:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
