"""CPU time of an import's reading, parsing and screening: this checkout against another,
side by side.

    PYTHONPATH=. python benchmarks/read_bench.py FILE --against ../baseline --repeat 5

FILE is a CSV export that the ``app-login`` preset reads (``identity.synthetic``'s app
login log: ``write_csv(folder, 200000, 7, kinds=["app_login"])``). Each run is a child
process of this interpreter with ``PYTHONPATH`` set to one checkout; it reads FILE as the
import worker does (the ``app-login`` preset with ``--tag tags``, in chunks of a fixed
50,000 rows, so that both checkouts read alike whatever their default)
and screens each chunk into an empty SQLite workspace as the engine does, and reports
the CPU seconds (user + system) of each part and a digest of the rows and screenings.
The checkouts run alternately; the medians are printed with old / new ratios. Equal
digests show that both read and screened the file alike. Not a test: a measuring tool.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHUNK_ROWS = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.file)))
        return
    checkouts = {"new": HERE.parent, "old": args.against.resolve()}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in checkouts}
    for _ in range(args.repeat):
        for name, checkout in checkouts.items():
            runs[name].append(_child(checkout, args.file))
    report(runs, os.getloadavg()[0])


def _child(checkout: Path, path: Path) -> dict[str, Any]:
    env = os.environ | {"PYTHONPATH": str(checkout)}
    command = [sys.executable, __file__, str(path.resolve()), "--against", ".", "--child"]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out))


def report(runs: dict[str, list[dict[str, Any]]], load: float) -> None:
    print(f"{len(runs['new'])} runs each, load average now {load:.1f}; CPU seconds, median")
    print(f"{'part':<12}{'old':>9}{'new':>9}{'old/new':>9}{'old us/row':>12}{'new us/row':>12}")
    rows = runs["new"][0]["rows"]
    for part in ("read", "screen", "total"):
        old, new = (statistics.median(r[part] for r in runs[name]) for name in ("old", "new"))
        print(f"{part:<12}{old:9.2f}{new:9.2f}{old / new:9.2f}"
              f"{old / rows * 1e6:12.1f}{new / rows * 1e6:12.1f}")  # fmt: skip
    digests = {name: {r["digest"] for r in found} for name, found in runs.items()}
    same = digests["old"] == digests["new"] and len(digests["new"]) == 1
    print(f"{rows:,} rows; the same rows and screenings: {'yes' if same else 'NO'}")


def measure(path: Path) -> dict[str, Any]:
    """Read and screen ``path`` with the checkout on ``PYTHONPATH`` (old or new API)."""
    from datetime import UTC, datetime

    from identity.imports import readers

    try:
        from identity.imports.collector import collector_paused
    except ImportError:  # a checkout from before the collector had its own module
        from identity.imports.engine import _collector_paused as collector_paused
    from identity.imports.presets import build_mapping
    from identity.imports.rows import ChunkOutcome, ImportRow
    from identity.imports.screening import screen_rows
    from identity.imports.spec import MappingSpec
    from identity.normalise import KeyedHasher
    from identity.services.transactions import in_transaction
    from identity.services.workspaces import Workspaces
    from identity.store import schema
    from identity.store.database import create_store_engine
    from identity.store.uow import Store

    url = f"sqlite:///{tempfile.mkdtemp()}/read-bench.sqlite"
    schema.upgrade(url)
    store = Store(create_store_engine(url))
    workspaces = Workspaces(store, KeyedHasher(b"read-bench-secret-0123456789"), ttl=0)
    ws = workspaces.context(workspaces.create("bench"))
    mapping = build_mapping("app-login", MappingSpec(tags=("tags",)))
    header, _ = readers.read_header(path, mapping)
    mapping = mapping.fit(header)
    stamp = datetime(2026, 12, 1, tzinfo=UTC)
    if hasattr(readers, "read_chunks"):
        chunks = (c for c, _ in readers.read_chunks(path, "csv", mapping, ws.policy, stamp,
                                                    CHUNK_ROWS))  # fmt: skip
    else:  # the reader before read_chunks, taken as the worker took it
        items = readers.read_rows(path, "csv", mapping, ws.policy, stamp)
        parts = iter(lambda: list(islice(items, CHUNK_ROWS)), [])
        chunks = ([item for item, _ in part] for part in parts)
    digest, spent = hashlib.sha256(), {"read": 0.0, "screen": 0.0}
    count = 0
    while True:
        started = time.process_time()
        chunk = next(chunks, None)
        spent["read"] += time.process_time() - started
        if chunk is None:
            break
        count += len(chunk)
        rows = [item for item in chunk if isinstance(item, ImportRow)]
        started = time.process_time()
        with collector_paused():
            applied, catalogue = in_transaction(
                store, lambda uow, rows=rows: screen_rows(_bulk(uow), ws, rows, ChunkOutcome())
            )
        spent["screen"] += time.process_time() - started
        digest.update(repr(chunk).encode())
        digest.update(repr([(a.line, a.codes, a.screened) for a in applied]).encode())
        digest.update(repr(catalogue.identifiers).encode())
    spent = {part: round(seconds, 3) for part, seconds in spent.items()}
    return {**spent, "total": round(sum(spent.values()), 3), "rows": count,
            "digest": digest.hexdigest()}  # fmt: skip


def _bulk(uow: Any) -> Any:
    from identity.imports.bulk import Bulk

    return Bulk(uow.session, uow.sqlite)


if __name__ == "__main__":
    main()
