"""A real ``kill -9``: ``databank worker`` runs in a subprocess and is killed at random
moments after a checkpoint, then started again until the import is done. The stored
state must be the one an uninterrupted run of the same file reaches, on SQLite and
PostgreSQL.

``DATABANK_KILL_TEST_ROWS`` sets the file's size (default 6,000 rows in chunks of 300).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from identity.services.import_worker import run_worker
from identity.services.imports import get_import, list_rejects, start_import
from tests.integration.import_files import (
    MAPPING,
    databank_env,
    make_export,
    stored_state,
    write_csv,
)
from tests.invariants import assert_invariants

ROWS = int(os.environ.get("DATABANK_KILL_TEST_ROWS", "6000"))
CHUNK = max(ROWS // 20, 1)
KILLS = 3


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "api.cli", "worker", "--once", "--poll", "0.1",
               "--stale-after", "1"]  # fmt: skip
    with log.open("ab") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=output)


def _wait_for_a_checkpoint(status: Any, beyond: int, process: subprocess.Popen[bytes],
                           log: Path) -> int:  # fmt: skip
    deadline = time.monotonic() + 120
    while (done := status()["rows_done"]) <= beyond:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no checkpoint within two minutes"
        time.sleep(0.02)
    return int(done)


@pytest.mark.slow
def test_a_worker_killed_at_random_moments_ends_as_an_uninterrupted_run(
    database_url, store, workspaces, tmp_path
):
    path = write_csv(tmp_path / "export.csv", make_export(ROWS, seed=11))
    workspaces.create("uninterrupted")
    calm = workspaces.context_by_name("uninterrupted")
    reference = start_import(store, calm, path, "export.csv", "csv", MAPPING, CHUNK)
    started = time.monotonic()
    run_worker(store, workspaces, once=True)
    # a kill lands within the next two chunks after a checkpoint, wherever in them: a
    # fixed delay could outlast the whole rest of the file on a fast machine
    chunk_seconds = (time.monotonic() - started) / (ROWS / CHUNK)

    workspaces.create("killed")
    ws = workspaces.context_by_name("killed")
    job = start_import(store, ws, path, "export.csv", "csv", MAPPING, CHUNK)
    env = {**os.environ, **databank_env(database_url, tmp_path)}
    log = tmp_path / "worker.log"
    rng, kills, seen = random.Random(5), [], 0
    status = lambda: get_import(store, ws, job["import_id"])  # noqa: E731
    while status()["status"] != "done":
        process = _worker(env, log)
        if len(kills) < KILLS:
            seen = _wait_for_a_checkpoint(status, seen, process, log)
            time.sleep(rng.uniform(0, 2 * chunk_seconds))
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills.append((seen, process.returncode))
            time.sleep(1.1)  # the dead worker's heartbeat goes stale
        else:
            assert process.wait(timeout=300) == 0, log.read_text()

    assert [code for _, code in kills] == [-signal.SIGKILL] * KILLS
    assert all(0 < rows < ROWS for rows, _ in kills), kills
    finished, expected = status(), get_import(store, calm, reference["import_id"])
    assert finished["counts"] == expected["counts"]
    assert finished["rows_done"] == expected["rows_done"] == ROWS
    assert _rejects(store, ws, job) == _rejects(store, calm, reference)
    assert stored_state(store.engine, ws.id) == stored_state(store.engine, calm.id)
    assert_invariants(store.engine)


def _rejects(store: Any, ws: Any, job: dict[str, Any]) -> list[dict[str, Any]]:
    return list_rejects(store, ws, job["import_id"], None, 1000)["rejects"]  # type: ignore[no-any-return]
