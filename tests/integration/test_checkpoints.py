"""A SQLite store's WAL is checkpointed by a thread of its own, not by a request."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

from identity.services.identify import identify
from identity.store.checkpoints import FALLBACK_PAGES
from identity.store.database import create_store_engine
from identity.store.uow import Store
from tests.oracle import observation


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "databank-wal-checkpoints"]


def test_the_wal_reaches_the_database_file_without_a_request_checkpointing_it(
    database_url, workspaces, tmp_path
):  # type: ignore[no-untyped-def]
    store = workspaces.store
    if not store.sqlite:
        return  # PostgreSQL checkpoints on its own
    with store.lookups() as driver:
        assert driver.raw.execute("PRAGMA wal_autocheckpoint").fetchone() == (FALLBACK_PAGES,)
    workspaces.create("w")
    ws = workspaces.context_by_name("w")
    identify(store, ws, observation(["login_id@app:A"], 0))

    database = Path(database_url.removeprefix("sqlite:///"))
    deadline, persons = time.monotonic() + 10, 0
    while not persons and time.monotonic() < deadline:
        time.sleep(0.2)
        copy = tmp_path / "file-only.sqlite"  # the database file without its WAL
        shutil.copy(database, copy)
        try:
            with sqlite3.connect(copy) as checked:
                persons = checked.execute("SELECT count(*) FROM persons").fetchone()[0]
        except sqlite3.DatabaseError:  # copied mid-checkpoint: look again
            persons = 0
    assert persons == 1


def test_the_checkpoint_thread_stops_with_the_engine(tmp_path):  # type: ignore[no-untyped-def]
    before = len(_checkpointers())
    engine = create_store_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Store(engine)
    assert len(_checkpointers()) == before + 1

    engine.dispose()

    assert len(_checkpointers()) == before
