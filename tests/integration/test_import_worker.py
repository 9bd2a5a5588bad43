"""The import worker on SQLite and PostgreSQL: claims, stale claims, lost claims, failures
and their resumption, checkpoints committed with their chunk."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import update

from identity.services.import_worker import claim, run_import, run_worker
from identity.services.imports import get_import, list_rejects, start_import
from identity.services.transactions import in_transaction
from identity.store.models import Import
from tests.integration.import_files import (
    MAPPING,
    make_export,
    stored_state,
    write_csv,
)
from tests.invariants import assert_invariants


def _age_heartbeat(store, import_id):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from identity.services.context import utcnow

    in_transaction(store, lambda uow: uow.session.execute(
        update(Import).where(Import.id == import_id)
        .values(heartbeat_at=utcnow() - timedelta(hours=1))))  # fmt: skip


def test_imports_are_claimed_oldest_first_and_a_live_claim_is_not_taken(store, ws, tmp_path):
    first = start_import(store, ws, write_csv(tmp_path / "a.csv", make_export(10, seed=1)),
                         "a.csv", "csv", MAPPING)  # fmt: skip
    second = start_import(store, ws, write_csv(tmp_path / "b.csv", make_export(10, seed=2)),
                          "b.csv", "csv", MAPPING)  # fmt: skip

    assert claim(store, "w1") == first["import_id"]
    assert claim(store, "w2") == second["import_id"]
    assert claim(store, "w3") is None
    _age_heartbeat(store, first["import_id"])
    assert claim(store, "w3") == first["import_id"]


def test_a_worker_whose_claim_was_taken_over_commits_nothing(store, workspaces, ws, tmp_path):
    job = start_import(store, ws, write_csv(tmp_path / "a.csv", make_export(50)), "a.csv",
                       "csv", MAPPING, chunk_rows=10)  # fmt: skip
    assert claim(store, "w1") == job["import_id"]
    _age_heartbeat(store, job["import_id"])
    assert claim(store, "w2") == job["import_id"]

    assert run_import(store, workspaces, job["import_id"], "w1")["rows_done"] == 0
    done = run_import(store, workspaces, job["import_id"], "w2")
    assert done["status"] == "done" and done["rows_done"] == 50


def test_a_failed_import_of_the_same_file_resumes_when_imported_again(
    store, workspaces, ws, tmp_path
):
    path = write_csv(tmp_path / "a.csv", make_export(60, bad_every=7))
    job = start_import(store, ws, path, "a.csv", "csv", MAPPING, chunk_rows=20)
    moved = shutil.move(path, tmp_path / "elsewhere.csv")
    run_worker(store, workspaces, once=True)
    failed = get_import(store, ws, job["import_id"])
    assert failed["status"] == "failed" and "cannot be read" in failed["error"]

    again = start_import(store, ws, moved, "elsewhere.csv", "csv", MAPPING, chunk_rows=20)
    assert again["import_id"] == job["import_id"] and again["status"] == "queued"
    assert run_worker(store, workspaces, once=True) == 1
    done = get_import(store, ws, job["import_id"])
    assert done["status"] == "done" and done["error"] is None
    assert sum(done["counts"].values()) == done["rows_done"] == 60
    assert len(list_rejects(store, ws, job["import_id"], None, 100)["rejects"]) == 8


def test_a_file_changed_under_its_import_fails_it_and_keeps_what_was_applied(
    store, workspaces, ws, tmp_path
):
    path = write_csv(tmp_path / "a.csv", make_export(40))
    job = start_import(store, ws, path, "a.csv", "csv", MAPPING, chunk_rows=10)
    path.write_text(path.read_text().replace("wxA", "wxC"))
    run_worker(store, workspaces, once=True)

    failed = get_import(store, ws, job["import_id"])
    assert failed["status"] == "failed"
    assert failed["error"] == "the file changed since the import was started"
    assert failed["rows_done"] == 0


def test_an_upload_is_removed_when_its_import_ends_and_a_users_file_never(
    store, workspaces, ws, tmp_path
):
    files = tmp_path / "files"
    files.mkdir()
    users = write_csv(files / "mine.csv", make_export(30, seed=1))
    uploaded = write_csv(files / "upload-1.csv", make_export(30, seed=2))
    spoiled = write_csv(files / "upload-2.csv", make_export(30, seed=3))
    start_import(store, ws, users, "mine.csv", "csv", MAPPING)
    start_import(store, ws, uploaded, "export.csv", "csv", MAPPING, upload=True)
    failing = start_import(store, ws, spoiled, "spoiled.csv", "csv", MAPPING, upload=True)
    spoiled.write_text(spoiled.read_text().replace("wxA", "wxC"))

    assert run_worker(store, workspaces, once=True) == 3
    assert get_import(store, ws, failing["import_id"])["status"] == "failed"
    assert [p.name for p in files.iterdir()] == ["mine.csv"]


def test_a_resumed_import_equals_an_uninterrupted_one(store, workspaces, ws, tmp_path):
    path = write_csv(tmp_path / "a.csv", make_export(300, bad_every=13))
    workspaces.create("calm")
    calm = workspaces.context_by_name("calm")
    reference = start_import(store, calm, path, "a.csv", "csv", MAPPING, chunk_rows=40)
    run_worker(store, workspaces, once=True)

    job = start_import(store, ws, path, "a.csv", "csv", MAPPING, chunk_rows=40)
    assert claim(store, "w1") == job["import_id"]
    seen = []
    with pytest.raises(_Died):  # after three chunks, as if its process were killed
        run_import(store, workspaces, job["import_id"], "w1", progress=_die_after(3, seen))
    halfway = get_import(store, ws, job["import_id"])
    assert halfway["status"] == "running" and halfway["rows_done"] == 120
    assert halfway["checkpoint_line"] == 121
    _age_heartbeat(store, job["import_id"])
    run_worker(store, workspaces, once=True)

    done = get_import(store, ws, job["import_id"])
    assert done["counts"] == get_import(store, calm, reference["import_id"])["counts"]
    assert stored_state(store.engine, ws.id) == stored_state(store.engine, calm.id)
    assert_invariants(store.engine)


class _Died(BaseException):
    """Not an ``Exception``: the worker cannot catch it, as it cannot catch SIGKILL."""


def _die_after(chunks: int, seen: list[int]):  # type: ignore[no-untyped-def]
    def progress(rows: int) -> None:
        seen.append(rows)
        if len(seen) == chunks:
            raise _Died

    return progress


def test_workers_claiming_at_once_each_get_a_different_import(store, ws, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    queued = {start_import(store, ws, write_csv(tmp_path / f"{n}.csv", make_export(5, seed=n)),
                           f"{n}.csv", "csv", MAPPING)["import_id"] for n in range(8)}  # fmt: skip

    def claim_all(worker: str) -> list[str]:
        claimed = []
        while (import_id := claim(store, worker)) is not None:
            claimed.append(import_id)
        return claimed

    with ThreadPoolExecutor(4) as pool:
        claims = [i for found in pool.map(claim_all, ["w1", "w2", "w3", "w4"]) for i in found]
    assert sorted(claims) == sorted(queued)


def test_an_import_stopped_on_purpose_goes_back_to_the_queue_at_its_checkpoint(
    store, workspaces, ws, tmp_path
):
    job = start_import(store, ws, write_csv(tmp_path / "a.csv", make_export(100)), "a.csv",
                       "csv", MAPPING, chunk_rows=25)  # fmt: skip
    assert claim(store, "w1") == job["import_id"]

    def interrupt(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(store, workspaces, job["import_id"], "w1", progress=interrupt)
    stopped = get_import(store, ws, job["import_id"])
    assert (stopped["status"], stopped["rows_done"]) == ("queued", 25)
    assert run_worker(store, workspaces, once=True) == 1
    assert get_import(store, ws, job["import_id"])["rows_done"] == 100
