"""The stages of ``import_bench.py``, each run in a child process of its own so that its
wall time and peak memory are its alone.

    python benchmarks/import_stages.py floor FILE SQLITE_FILE
    python benchmarks/import_stages.py naive FILE SQLITE_FILE

All read an app login log of ``identity.synthetic`` (``app_id``, ``user_id``,
``device_type``, ``device_id``, ``login_time``, ``tags``) and drop blocked device ids the
way screening does, so that a junk id does not glue strangers into one component.

- ``floor``: polars CSV parse, integer-encoded identifiers, scipy connected components,
  one bulk write of the identifier -> person map into SQLite (one transaction).
- ``naive``: the csv module, networkx connected components, the same map written with
  SQLAlchemy Core inserts (one executemany in one transaction).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from identity.policy import DEFAULT_BLOCKED_VALUES

BLOCKED = sorted(DEFAULT_BLOCKED_VALUES)
MAP_TABLE = """CREATE TABLE identifier_person (kind TEXT NOT NULL, scope TEXT NOT NULL,
    value TEXT NOT NULL, person INTEGER NOT NULL, PRIMARY KEY (kind, scope, value))"""


def _blocked(value: str) -> bool:
    return not value.strip("0-") or value.strip().lower() in DEFAULT_BLOCKED_VALUES


def floor(path: Path, database: Path) -> dict[str, Any]:
    import numpy as np
    import polars as pl
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    frame = pl.read_csv(path, columns=["app_id", "user_id", "device_type", "device_id"],
                        infer_schema=False)  # fmt: skip
    device = pl.col("device_id")
    junk = device.str.strip_chars("0-").eq("") | device.str.to_lowercase().is_in(BLOCKED)
    keys = frame.select(
        login=pl.concat_str(pl.lit("login_id\t"), "app_id", pl.lit("\t"), "user_id"),
        device=pl.when(junk).then(None).otherwise(
            pl.concat_str("device_type", pl.lit("\t\t"), device)),
    )  # fmt: skip
    stacked = pl.concat([keys["login"], keys["device"]]).rename("key")
    codes = stacked.rank("dense").cast(pl.Int64) - 1  # nulls stay null
    n_rows, nodes = frame.height, int(codes.max()) + 1  # type: ignore[arg-type, operator]
    pairs = pl.DataFrame({"a": codes[:n_rows], "b": codes[n_rows:]}).drop_nulls()
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(nodes, nodes))
    count, labels = connected_components(graph, directed=False)
    table = pl.DataFrame({"key": stacked, "code": codes}).drop_nulls().unique("code")
    parts = table["key"].str.split_exact("\t", 2).struct.unnest()
    persons = labels[table["code"].to_numpy()].tolist()
    rows = zip(parts["field_0"], parts["field_1"], parts["field_2"], persons, strict=True)
    _write_sqlite(database, rows)
    return {"identifiers": nodes, "components": int(count)}


def _write_sqlite(database: Path, rows: Any) -> None:
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(MAP_TABLE)
    with connection:
        connection.executemany("INSERT INTO identifier_person VALUES (?, ?, ?, ?)", rows)
    connection.close()


def naive(path: Path, database: Path) -> dict[str, Any]:
    import networkx as nx
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event

    graph = nx.Graph()
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            login = ("login_id", row["app_id"], row["user_id"])
            graph.add_node(login)
            if not _blocked(row["device_id"]):
                graph.add_edge(login, (row["device_type"], "", row["device_id"]))
    rows = [{"kind": k, "scope": s, "value": v, "person": person}
            for person, component in enumerate(nx.connected_components(graph))
            for k, s, v in component]  # fmt: skip
    engine = create_engine(f"sqlite:///{database}")
    event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA journal_mode=WAL"))
    table = Table("identifier_person", MetaData(),
                  *(Column(n, String, primary_key=True) for n in ("kind", "scope", "value")),
                  Column("person", Integer, nullable=False))  # fmt: skip
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), rows)
    engine.dispose()
    return {"identifiers": len(rows), "components": rows[-1]["person"] + 1 if rows else 0}


def main(argv: list[str]) -> None:
    stage, path, database = argv
    started = time.perf_counter()
    result = {"floor": floor, "naive": naive}[stage](Path(path), Path(database))
    result["seconds_inside"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
