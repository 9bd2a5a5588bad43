"""SQLite's writers queue at a file lock (``<file>-writer``) instead of polling."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from identity.store.database import create_store_engine


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "gate.sqlite"


@pytest.fixture
def engine(database: Path) -> Iterator[Engine]:
    engine = create_store_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def gate_taken(database: Path) -> bool:
    """Whether some connection holds the writer gate of ``database`` now."""
    fd = os.open(f"{database}-writer", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the file drops a lock taken here
    return False


def begin_failure(engine: Engine, busy_ms: int) -> BaseException | None:
    """Begin a write on a new connection with a busy timeout of ``busy_ms``: the error,
    or ``None`` if it began (then rolled back)."""
    with engine.connect() as connection:
        connection.connection.driver_connection.execute(f"PRAGMA busy_timeout={busy_ms}")
        try:
            connection.begin()
        except OperationalError as exc:
            return exc
    return None


def in_thread(work: Callable[[], Any]) -> Any:
    """What ``work`` returns, run in a thread of its own (which must end within 10 s)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return result[0]


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM t")).scalar_one())


def test_a_writer_waits_at_the_gate_until_the_holder_commits(engine, database):  # type: ignore[no-untyped-def]
    began = threading.Event()

    def second_writer() -> None:
        with engine.begin() as connection:
            began.set()
            connection.execute(text("INSERT INTO t VALUES (2)"))

    with engine.connect() as first:
        first.begin()
        first.execute(text("INSERT INTO t VALUES (1)"))
        assert gate_taken(database)
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not began.wait(0.3)  # queued behind the first
        first.commit()
    assert began.wait(5)
    thread.join(5)

    assert count(engine) == 2
    assert not gate_taken(database)


def test_a_writer_gives_up_after_its_busy_timeout(engine):  # type: ignore[no-untyped-def]
    """A thread queued behind a holder of its own process waits no longer than its
    busy timeout, then fails as SQLite would ("database is locked": the services
    retry it, then answer 503)."""
    with engine.connect() as first:
        first.begin()
        first.execute(text("INSERT INTO t VALUES (1)"))
        failure = in_thread(lambda: begin_failure(engine, 200))
        first.commit()

    assert "database is locked" in str(failure)
    with engine.begin() as connection:  # nothing is left held
        connection.execute(text("INSERT INTO t VALUES (2)"))
    assert count(engine) == 2


def test_rollback_and_close_give_the_gate_back(engine, database):  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        connection.begin()
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert gate_taken(database)
        connection.rollback()
        assert not gate_taken(database)

        connection.begin()
        assert gate_taken(database)
    # leaving the block returned the connection to the pool, which rolled it back
    assert not gate_taken(database)

    raw = engine.raw_connection()
    raw.driver_connection.begin("BEGIN IMMEDIATE", True)
    assert gate_taken(database)
    raw.invalidate()  # closes the driver connection
    assert not gate_taken(database)
    assert count(engine) == 0


def test_readers_do_not_take_the_gate(engine, database):  # type: ignore[no-untyped-def]
    reader = engine.execution_options(sqlite_begin="DEFERRED")
    with engine.connect() as writer:
        writer.begin()
        writer.execute(text("INSERT INTO t VALUES (1)"))
        with reader.connect() as connection:
            connection.begin()
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        writer.commit()
    assert not gate_taken(database)


def test_a_thread_writing_on_two_connections_does_not_wait_for_itself(engine):  # type: ignore[no-untyped-def]
    """The second connection skips the gate and meets SQLite's busy handler, which
    gives up after its timeout instead of waiting forever."""

    def nested() -> BaseException | None:
        with engine.connect() as first:
            first.begin()
            first.execute(text("INSERT INTO t VALUES (1)"))
            return begin_failure(engine, 100)

    assert "database is locked" in str(in_thread(nested))


def test_a_forked_child_queues_on_fresh_locks(engine, database):  # type: ignore[no-untyped-def]
    """A lock of the process's queue held at the fork (by any thread) would stay held
    in the child forever; the child starts with fresh ones and writes at once."""
    held = engine.raw_connection()
    taken = held.driver_connection._queue()  # the parent's queue for the file, held
    try:
        child = os.fork()
        if child == 0:  # exit status 0 if a write began within a second
            status = 1
            try:
                fresh = create_store_engine(f"sqlite:///{database}")
                status = 0 if begin_failure(fresh, 1000) is None else 1
            finally:
                os._exit(status)
        _, status = os.waitpid(child, 0)
    finally:
        taken.release()
        held.close()

    assert os.waitstatus_to_exitcode(status) == 0


def test_without_a_gate_file_writers_still_write(database, caplog):  # type: ignore[no-untyped-def]
    Path(f"{database}-writer").mkdir()  # a directory: the gate cannot be opened
    engine = create_store_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    assert count(engine) == 1
    engine.dispose()
    assert "writer gate unavailable" in caplog.text


def test_the_gate_of_a_killed_process_is_free_again(engine, database):  # type: ignore[no-untyped-def]
    command = [sys.executable, "-c", _HOLD, str(database)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            assert gate_taken(database)
        finally:
            holder.kill()

    assert not gate_taken(database)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (3)"))
    assert count(engine) == 1  # the killed writer's insert never happened


_HOLD = """
import sys, time
from sqlalchemy import text
from identity.store.database import create_store_engine

engine = create_store_engine(f"sqlite:///{sys.argv[1]}")
connection = engine.connect()
connection.begin()
connection.execute(text("INSERT INTO t VALUES (9)"))
print("holding", flush=True)
time.sleep(60)
"""
