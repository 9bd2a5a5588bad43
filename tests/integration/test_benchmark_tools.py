"""The measuring tools under ``benchmarks/`` still run against the code they measure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from identity.synthetic import write_csv

ROOT = Path(__file__).resolve().parents[2]


def test_read_bench_reads_and_screens_a_file_alike_in_two_checkouts(tmp_path):
    path = write_csv(tmp_path, 400, 7, kinds=["app_login"])["app_login"]
    command = [sys.executable, str(ROOT / "benchmarks" / "read_bench.py"), str(path),
               "--against", str(ROOT), "--repeat", "1"]  # fmt: skip

    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout

    rows = len(path.read_text(encoding="utf-8").splitlines()) - 1
    assert f"{rows:,} rows; the same rows and screenings: yes" in out


def test_gc_pauses_measures_a_worker_as_built_and_frozen():
    command = [sys.executable, str(ROOT / "benchmarks" / "gc_pauses.py"), "--requests", "200",
               "--persons", "200"]  # fmt: skip

    out = subprocess.run(command, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout  # fmt: skip

    built, frozen = (line.split() for line in out.splitlines() if " tracked " in line)
    assert built[0] == "as-built" and int(built[4]) == 0  # nothing frozen
    assert frozen[0] == "frozen" and int(frozen[4]) > int(frozen[2])  # most objects frozen


def test_import_bench_imports_one_file_through_both_entry_points_alike():
    command = [sys.executable, str(ROOT / "benchmarks" / "import_bench.py"), "--rows", "2000",
               "--seed", "11", "--stages", "databank,upload"]  # fmt: skip

    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout

    results = json.loads(Path(out.split("results in ")[-1].strip()).read_text())
    command_line, upload = (
        results["stages"][f"{s}_sqlite"]["output"] for s in ("databank", "upload")
    )
    assert upload["status"] == "done" and upload["rows_done"] == 2000
    assert upload["counts"] == command_line["counts"] and upload["counts"]["created"] > 0
    assert "upload_sqlite / databank_sqlite (wall)" in results["ratios"]
