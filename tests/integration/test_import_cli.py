"""``databank import`` end to end on real files, SQLite and PostgreSQL: the persons of
identifying the rows one by one, every row accounted for, the same file twice changes
nothing, and ``databank worker`` runs what was queued."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api.cli import main
from identity.errors import InvalidInput
from tests.integration.import_files import (
    MAPPING_ARGS,
    databank_env,
    identify_one_by_one,
    make_export,
    stored_state,
    write_csv,
    write_jsonl,
)
from tests.invariants import assert_invariants, stored_partition


@pytest.fixture
def databank(database_url, tmp_path):  # type: ignore[no-untyped-def]
    """``databank(*args)`` runs the command line against the test database."""
    env = databank_env(database_url, tmp_path / "var")
    runner = CliRunner()

    def run(*args: str, code: int = 0):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_an_import_gives_the_persons_of_identifying_its_rows_one_by_one(
    databank, store, ws, workspaces, tmp_path, format
):
    export = make_export(250, seed=3, bad_every=31)
    path = (write_csv if format == "csv" else write_jsonl)(tmp_path / f"e.{format}", export)
    mapping = MAPPING_ARGS if format == "csv" else []
    status = json.loads(databank("import", str(path), "--workspace", "acme", *mapping,
                                 "--chunk-rows", "101", "--json").output)  # fmt: skip

    workspaces.create("one-by-one")
    reference = workspaces.context_by_name("one-by-one")
    counts, rejected = identify_one_by_one(store, reference, export)
    assert status["status"] == "done"
    assert sum(status["counts"].values()) == status["rows_done"] == export.data_rows
    assert {k: v for k, v in status["counts"].items() if v} == dict(counts)
    assert stored_partition(store.engine, ws.id) == stored_partition(store.engine, reference.id)
    assert stored_state(store.engine, ws.id) == stored_state(store.engine, reference.id)
    lines = databank("imports", "rejects", status["import_id"], "--workspace", "acme").output
    header = 1 if format == "csv" else 0  # a JSON Lines file has no header line
    assert [int(x.split("\t")[0]) + 1 - header for x in lines.splitlines()] == rejected
    assert_invariants(store.engine)


def test_the_summary_names_outcomes_rejects_and_how_to_list_them(databank, ws, tmp_path):
    path = write_csv(tmp_path / "e.csv", make_export(200, bad_every=20))
    output = databank("import", str(path), "--workspace", "acme", *MAPPING_ARGS).output

    assert "rows" in output and "rows/s" in output and "created" in output
    assert "rejected rows (first 5 of 10):" in output
    assert "line 21: expected 10 columns, found 4" in output
    assert "line 41: column ts: not a time in the format seconds since 1970" in output
    assert "line 61: no identifier: every identifier column is empty" in output
    assert "line 81: no usable identifier in the observation (identifiers.0: idfa" in output
    assert "databank imports rejects imp_" in output
    assert "138" not in output  # no phone number in any reason


def test_the_same_file_again_changes_nothing_and_says_so(databank, store, ws, tmp_path):
    path = write_csv(tmp_path / "e.csv", make_export(300))
    first = json.loads(databank("import", str(path), "--workspace", "acme", *MAPPING_ARGS,
                                "--json").output)  # fmt: skip
    before = stored_state(store.engine, ws.id)
    again = json.loads(databank("import", str(path), "--workspace", "acme", *MAPPING_ARGS,
                                "--json").output)  # fmt: skip

    assert stored_state(store.engine, ws.id) == before
    assert again["import_id"] != first["import_id"]
    assert again["duplicate_of"] == first["import_id"]
    assert again["counts"]["duplicate"] == again["rows_done"] == 300
    assert databank("imports", "rejects", again["import_id"], "--workspace", "acme").output == ""


def test_a_changed_mapping_is_a_new_import(databank, ws, tmp_path):
    path = write_csv(tmp_path / "e.csv", make_export(50))
    databank("import", str(path), "--workspace", "acme", *MAPPING_ARGS)
    other = json.loads(databank("import", str(path), "--workspace", "acme", *MAPPING_ARGS,
                                "--channel", "crm", "--json").output)  # fmt: skip

    assert other["duplicate_of"] is None and other["counts"]["duplicate"] == 0


def test_a_queued_import_is_run_by_the_worker(databank, store, ws, tmp_path):
    path = write_csv(tmp_path / "e.csv", make_export(120))
    queued = json.loads(databank("import", str(path), "--workspace", "acme", *MAPPING_ARGS,
                                 "--background", "--json").output)  # fmt: skip
    assert queued["status"] == "queued" and queued["rows_done"] == 0

    assert "worker ran 1 import(s)" in databank("worker", "--once").output
    listed = databank("imports", "list", "--workspace", "acme").output
    assert queued["import_id"] in listed and "done" in listed and "e.csv" in listed
    shown = json.loads(databank("imports", "show", queued["import_id"], "--workspace", "acme",
                                "--json").output)  # fmt: skip
    assert shown["status"] == "done" and shown["rows_done"] == 120
    assert_invariants(store.engine)


def test_a_bad_mapping_is_refused_with_every_problem_before_any_row(databank, ws, tmp_path):
    path = write_csv(tmp_path / "e.csv", make_export(10))
    with pytest.raises(InvalidInput) as refused:
        databank("import", str(path), "--workspace", "acme", "--map", "nope=idfa",
                 "--map", "openid=wechat_openid", "--map", "phone=telephone")  # fmt: skip

    errors = refused.value.errors
    assert "unknown column 'nope'" in errors["map.nope"]
    assert "needs a scope" in errors["map.openid"]
    assert "unknown kind 'telephone'" in errors["map.phone"]
