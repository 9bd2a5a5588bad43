"""``databank serve`` runs uploaded imports with no second command: it starts an import
worker beside gunicorn and stops it when it exits (the embedded SQLite default)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from identity.normalise import KeyedHasher
from identity.services.workspaces import Workspaces
from identity.store.database import create_store_engine
from identity.store.uow import Store
from tests.conftest import SECRET
from tests.integration.import_files import MAPPING_FIELDS, databank_env, make_export, write_csv
from tests.integration.test_concurrency import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path, sqlite_template):  # type: ignore[no-untyped-def]
    path = tmp_path / "databank.sqlite"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"


def test_an_upload_to_databank_serve_is_imported_by_the_worker_it_started(database_url, tmp_path):
    engine = create_store_engine(database_url)
    workspaces = Workspaces(Store(engine), KeyedHasher(SECRET))
    workspaces.create("acme")
    headers = {"Authorization": f"Bearer {workspaces.create_key('acme', ['ingest', 'read'])}"}
    engine.dispose()
    port, log = free_port(), tmp_path / "serve.log"
    env = {**os.environ, **databank_env(database_url, tmp_path / "var")}
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "1"]
    with log.open("w") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=output)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, server, log)
        export = write_csv(tmp_path / "e.csv", make_export(300)).read_bytes()
        started = requests.post(f"{url}/v1/imports", headers=headers, timeout=30,
                                files={"file": ("e.csv", export)}, data=MAPPING_FIELDS)  # fmt: skip
        assert started.status_code == 202, started.text
        status = _poll(url + started.headers["Location"], headers)
        assert status["status"] == "done" and status["rows_done"] == 300, status
    finally:
        server.terminate()
        server.wait(timeout=60)
    worker = int(re.findall(r"import worker started \(pid (\d+)\)", log.read_text())[0])
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            requests.get(f"{url}/healthz", timeout=5)
            return
        except requests.RequestException:  # not listening yet, or still booting its worker
            time.sleep(0.2)
    pytest.fail("databank serve did not come up:\n" + log.read_text())


def _poll(url: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status: dict[str, object] = requests.get(url, headers=headers, timeout=10).json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.2)
    pytest.fail(f"the import did not finish: {status}")
