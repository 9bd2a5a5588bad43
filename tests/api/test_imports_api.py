"""Imports over HTTP: upload, poll, rejects, and every status code of the three routes."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from api import create_app
from identity.services.import_worker import run_worker
from tests.api.helpers import assert_problem
from tests.integration.import_files import MAPPING_FIELDS, make_export, write_csv
from tests.invariants import assert_invariants


def upload(client, headers, content: bytes, name="export.csv", **fields):  # type: ignore[no-untyped-def]
    data = {"file": (io.BytesIO(content), name), **fields}
    return client.post("/v1/imports", data=data, headers=headers,
                       content_type="multipart/form-data")  # fmt: skip


def run_queued(app) -> int:  # type: ignore[no-untyped-def]
    databank = app.extensions["databank"]
    return run_worker(databank.store, databank.workspaces, once=True)


@pytest.fixture
def export_bytes(tmp_path: Path) -> bytes:
    return write_csv(tmp_path / "e.csv", make_export(150, bad_every=20)).read_bytes()


def test_an_upload_is_queued_run_by_a_worker_and_polled_to_its_end(
    app, client, ingest, reader, export_bytes
):
    started = upload(client, ingest, export_bytes, **MAPPING_FIELDS)
    assert started.status_code == 202, started.get_json()
    body = started.get_json()
    assert body["status"] == "queued" and body["filename"] == "export.csv"
    assert started.headers["Location"].endswith(f"/v1/imports/{body['import_id']}")

    assert run_queued(app) == 1
    status = client.get(started.headers["Location"], headers=reader).get_json()
    assert status["status"] == "done" and status["started_at"] and status["finished_at"]
    assert status["rows_done"] == sum(status["counts"].values()) == 150
    assert status["counts"]["rejected"] == 7 and status["rows_per_second"] > 0
    assert_invariants(app.extensions["databank"].store.engine)
    # The upload was the import's own copy of raw personal data: it is gone with it.
    assert list(app.extensions["databank"].settings.upload_dir.iterdir()) == []


def test_rejects_are_listed_in_line_order_page_by_page(app, client, ingest, reader, export_bytes):
    import_id = upload(client, ingest, export_bytes, **MAPPING_FIELDS).get_json()["import_id"]
    run_queued(app)

    lines, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/imports/{import_id}/rejects", query_string=query,
                          headers=reader).get_json()  # fmt: skip
        lines += [r["line"] for r in page["rejects"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert lines == [21, 41, 61, 81, 101, 121, 141]
    first = client.get(f"/v1/imports/{import_id}/rejects", headers=ingest).get_json()
    assert first["rejects"][0] == {"line": 21, "reason": "expected 10 columns, found 4"}


def test_a_preset_upload_and_the_same_file_again(app, client, ingest):
    content = b"auth_time,appid,openid,unionid,platform\n" \
        b"2024-05-01T08:00:00Z,wx1,o1,u1,open1\n2024-05-01T08:00:01Z,wx2,o2,u1,open1\n"  # fmt: skip
    first = upload(client, ingest, content, "mp.csv", preset="wechat-mp").get_json()
    again_while_queued = upload(client, ingest, content, "mp.csv", preset="wechat-mp").get_json()
    assert again_while_queued["import_id"] == first["import_id"]

    run_queued(app)
    done = client.get(f"/v1/imports/{first['import_id']}", headers=ingest).get_json()
    assert done["counts"] == {"created": 1, "matched": 1, "merged": 0, "duplicate": 0,
                              "rejected": 0}  # fmt: skip
    again = upload(client, ingest, content, "mp.csv", preset="wechat-mp")
    assert again.status_code == 202
    assert again.get_json()["duplicate_of"] == first["import_id"]
    assert again.get_json()["status"] == "done" and again.get_json()["counts"]["duplicate"] == 2
    assert list(app.extensions["databank"].settings.upload_dir.iterdir()) == []
    assert run_queued(app) == 0


def test_a_jsonl_upload_needs_no_mapping(app, client, ingest):
    content = (
        b'{"identifiers": [{"kind": "idfa", "value": "6D92078A-8246-4BA4-AE5B-76104861E7DC"}]}\n'
    )
    started = upload(client, ingest, content, "events.jsonl", channel="app").get_json()
    assert started["format"] == "jsonl"

    run_queued(app)
    assert client.get(f"/v1/imports/{started['import_id']}", headers=ingest).get_json()[
        "counts"]["created"] == 1  # fmt: skip


def test_a_key_is_needed_with_the_right_scope_and_workspace(
    app, client, ingest, reader, admin, stranger, export_bytes
):
    assert_problem(upload(client, {}, export_bytes, **MAPPING_FIELDS), 401)
    assert_problem(upload(client, reader, export_bytes, **MAPPING_FIELDS), 403)
    import_id = upload(client, ingest, export_bytes, **MAPPING_FIELDS).get_json()["import_id"]

    assert_problem(client.get(f"/v1/imports/{import_id}"), 401)
    assert_problem(client.get(f"/v1/imports/{import_id}", headers=admin), 403)
    assert_problem(client.get(f"/v1/imports/{import_id}/rejects", headers=admin), 403)
    assert_problem(client.get(f"/v1/imports/{import_id}", headers=stranger), 404)
    assert_problem(client.get(f"/v1/imports/{import_id}/rejects", headers=stranger), 404)
    assert_problem(client.get("/v1/imports/imp_nope", headers=reader), 404)


def test_a_bad_upload_is_422_with_every_problem_and_leaves_no_file(
    app, client, ingest, reader, settings, export_bytes
):
    bad_mapping = upload(client, ingest, export_bytes, map=["nope=idfa", "openid=wechat_openid"],
                         time="ts:%Q", kinds=["x"])  # fmt: skip
    assert set(assert_problem(bad_mapping, 422)["errors"]) == {"time", "map.nope", "map.openid",
                                                               "kinds.x"}  # fmt: skip
    unknown = assert_problem(upload(client, ingest, export_bytes, map=["nope=idfa",
                             "openid=wechat_openid", "phone=telephone"]), 422)  # fmt: skip
    assert set(unknown["errors"]) == {"map.nope", "map.openid", "map.phone"}
    assert "colour" in assert_problem(upload(client, ingest, export_bytes, colour="red"),
                                      422)["errors"]  # fmt: skip
    assert_problem(upload(client, ingest, export_bytes, preset="nope"), 422)
    no_file = client.post("/v1/imports", data={"preset": "wechat-mp"}, headers=ingest,
                          content_type="multipart/form-data")  # fmt: skip
    assert assert_problem(no_file, 422)["errors"] == {"file": "Missing data for required field."}
    assert_problem(client.get("/v1/imports/x/rejects?cursor=zzz", headers=reader), 422)

    assert list(settings.upload_dir.glob("*")) == []


def test_uploads_have_their_own_size_limit(settings, export_bytes):
    small_bodies = dataclasses.replace(settings, max_body_bytes=1000,
                                       max_upload_bytes=len(export_bytes) + 5000)  # fmt: skip
    app = create_app(small_bodies, TESTING=True)
    try:
        client = app.test_client()
        workspaces = app.extensions["databank"].workspaces
        workspaces.create("acme")
        key = {"Authorization": f"Bearer {workspaces.create_key('acme', ['ingest'])}"}

        assert upload(client, key, export_bytes, **MAPPING_FIELDS).status_code == 202
        too_big = upload(client, key, export_bytes * 2, "big.csv", **MAPPING_FIELDS)
        assert_problem(too_big, 413)
        assert len(list(settings.upload_dir.glob("*.csv"))) == 1
        assert list(settings.upload_dir.glob("*.part")) == []
    finally:
        app.extensions["databank"].store.engine.dispose()
