"""Statements on the driver connection store and read values as SQLAlchemy does, and
fail as SQLAlchemy would, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from identity.identifiers import Identifier
from identity.services.identify import identify
from identity.services.transactions import lookup
from identity.store.driver import Driver
from identity.store.graph import GraphRepository
from identity.store.models import Link, Message, PersonTrait, table
from identity.store.upsert import upsert
from tests.oracle import T0, observation

VALUES = ["gold", 3, 2.5, True, None, "", "null", "2088"]


def a_person(store, ws) -> str:  # type: ignore[no-untyped-def]
    return str(identify(store, ws, observation(["login_id@app:A", "oaid:d"], 0))["person_id"])


def test_values_written_either_way_read_back_the_same_either_way(store, ws):
    person = a_person(store, ws)
    rows = [{"person_id": person, "workspace_id": ws.id, "name": f"t{n}", "value": value,
             "value_text": None, "updated_at": T0 + timedelta(microseconds=n), "source": "app"}
            for n, value in enumerate(VALUES)]  # fmt: skip
    t = table(PersonTrait)
    with store.unit_of_work() as uow:
        upsert(uow.connection(), t, rows[::2], keys=["person_id", "name"], update=["value"])
        uow.connection().execute(insert(t), rows[1::2])  # through SQLAlchemy
        uow.commit()

    query = select(t.c.name, t.c.value, t.c.updated_at).order_by(t.c.name)
    with store.unit_of_work() as uow:
        by_sqlalchemy = [tuple(row) for row in uow.connection().execute(query)]
        by_driver = Driver(uow.connection()).rows(query)
    expected = [(r["name"], r["value"], r["updated_at"]) for r in rows]
    assert by_sqlalchemy == by_driver == expected


def test_a_known_link_counts_each_observation_widens_its_times_and_gains_a_channel_once(store, ws):
    a_person(store, ws)
    with store.unit_of_work() as uow:
        graph = GraphRepository(uow.connection(), ws.id, uow.sqlite)
        owners = graph.owners([Identifier("login_id", "app", "A"), Identifier("oaid", "", "d")])
        source, target = (owners[i][0] for i in sorted(owners, key=lambda i: i.kind))
        for minutes, channel in ((5, "mini"), (-5, "crm"), (9, None), (1, "mini")):
            graph.record_links(source, [target], T0 + timedelta(minutes=minutes), channel, "m")
        uow.commit()

    lk = table(Link).c
    with store.engine.connect() as connection:
        link = connection.execute(
            select(lk.count, lk.first_seen, lk.last_seen, lk.channels, lk.first_message_id)
            .where(lk.source_id == source, lk.target_id == target)
        ).one()  # fmt: skip
    assert tuple(link) == (5, T0 - timedelta(minutes=5), T0 + timedelta(minutes=9),
                           ["mini", "crm"], None)  # fmt: skip


def test_a_driver_error_comes_out_as_sqlalchemy_s(store, ws):
    row = {"workspace_id": ws.id, "message_id": "m-1", "response": {}, "created_at": T0}
    with store.unit_of_work() as uow:
        Driver(uow.connection()).run_many(insert(table(Message)), [row])
        with pytest.raises(IntegrityError):
            Driver(uow.connection()).run_many(insert(table(Message)), [row])


def test_lookups_keep_one_connection_per_thread_until_the_engine_is_disposed(store):
    def connection() -> object:
        with store.lookups() as driver:
            assert driver.rows(select(table(Message).c.message_id)) == []
            return driver.raw

    first, again = connection(), connection()
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(connection()))
    thread.start()
    thread.join()

    assert first is again and other[0] is not first
    store.engine.dispose()
    assert all(_closed(raw) for raw in (first, other[0]))
    assert connection() is not first  # a new one, and it works


def test_the_lookup_connection_of_a_thread_that_ended_is_closed_by_the_next_thread(store):
    def connection() -> object:
        with store.lookups() as driver:
            return driver.raw

    taken: list[object] = []
    for _ in range(2):
        thread = threading.Thread(target=lambda: taken.append(connection()))
        thread.start()
        thread.join()

    assert _closed(taken[0]) and not _closed(taken[1])


def test_a_lookup_connection_the_server_dropped_is_replaced(store):
    if store.sqlite:
        pytest.skip("a SQLite connection does not drop")
    import psycopg

    with store.lookups() as driver:
        dropped, pid = driver.raw, driver.raw.info.backend_pid
    url = store.engine.url.set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    assert lookup(store, lambda db: db.rows(select(table(Message).c.message_id))) == []
    with store.lookups() as driver:
        assert driver.raw is not dropped and not driver.raw.closed
    assert dropped.closed


def _closed(raw: object) -> bool:
    if isinstance(raw, sqlite3.Connection):
        try:
            raw.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(getattr(raw, "closed", False))
