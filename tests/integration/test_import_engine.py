"""The import engine on real SQLite and PostgreSQL: outcomes and equality with identify."""

from __future__ import annotations

import contextlib
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from identity.errors import DatabankError
from identity.imports.bulk import Bulk
from identity.imports.engine import apply_rows
from identity.imports.rows import ChunkOutcome, ImportRow
from identity.imports.screening import screen_rows
from identity.observation import RawIdentifier, screen
from identity.services import erasure
from identity.services.identify import identify
from identity.services.transactions import in_transaction
from tests.invariants import assert_invariants, stored_partition
from tests.oracle import observation, raw


def test_every_row_is_counted_once_and_rejects_name_the_line(store, ws):
    rows = [
        ImportRow(
            2, observation(["login_id@app:A", "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DC"], 0)
        ),
        ImportRow(
            3, observation(["login_id@app:B", "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DC"], 1)
        ),
        ImportRow(4, observation([RawIdentifier("idfa", "null")], 2)),
        ImportRow(5, observation(["login_id@app:A"], 3, message_id="m1")),
        ImportRow(6, observation(["login_id@app:A"], 4, message_id="m1")),
    ]
    outcome = in_transaction(store, lambda uow: apply_rows(uow, ws, rows, "import:test"))

    assert outcome.counts == {"created": 2, "matched": 1, "duplicate": 1, "rejected": 1}
    assert [(r.line, r.reason) for r in outcome.rejects] == [
        (4, "no usable identifier in the observation (identifiers.0: idfa: blocked value)")
    ]
    assert_invariants(store.engine)


def test_a_chunk_gives_the_persons_of_identifying_its_rows_one_by_one(store, ws, workspaces):
    texts = [["wechat_openid@wxA:oA"], ["wechat_openid@wxB:oB"],
             ["wechat_unionid@open1:U", "wechat_openid@wxA:oA"],
             ["wechat_unionid@open1:U", "wechat_openid@wxB:oB"]]  # fmt: skip
    rows = [ImportRow(n + 2, observation(t, n)) for n, t in enumerate(texts)]
    in_transaction(store, lambda uow: apply_rows(uow, ws, rows, "import:test"))

    workspaces.create("other")
    other = workspaces.context_by_name("other")
    for n, t in enumerate(texts):
        identify(store, other, observation(t, n))
    assert stored_partition(store.engine, ws.id) == stored_partition(store.engine, other.id)


# A reader hands out one object for the same raw identifier (RowParser.parse_many), and
# screening remembers a row's screening by those objects; rows that share objects must
# screen as rows of fresh copies do, and as screening each row alone.
POOL = [raw(text) for text in (
    "login_id@app:A", "login_id@app: A ", "login_id@app:a", "login_id:B", "cookie:x",
    "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DC", "idfa:6d92078a-8246-4ba4-ae5b-76104861e7dc",
    "idfa:null", "phone:+86 138 0013 8000", "phone:13800138000", "phone:12",
    "email@x:bob@example.com", "anonymous_id:gone", "anonymous_id:kept",
)]  # fmt: skip
SCREENED_ROWS = st.lists(
    st.tuples(st.lists(st.sampled_from(POOL), max_size=4),
              st.sampled_from([None, None, "m1", "m2"]),
              st.sampled_from([{}, {}, {"x": [1]}])),
    max_size=30,
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=SCREENED_ROWS)
def test_rows_sharing_identifier_objects_screen_as_copies_and_one_by_one(store, ws, drawn):
    with contextlib.suppress(DatabankError):  # erased already by an earlier example
        gone = identify(store, ws, observation(["anonymous_id:gone"], 0))["person_id"]
        erasure.erase(store, ws, gone, "key:op")
    shared = [ImportRow(n + 2, observation(ids, n, message_id=mid, traits=traits))
              for n, (ids, mid, traits) in enumerate(drawn)]  # fmt: skip
    copies = [ImportRow(r.line, replace(r.observation, identifiers=[
        RawIdentifier(i.kind, i.value, i.scope) for i in r.observation.identifiers]))
        for r in shared]  # fmt: skip

    def screened(rows):  # type: ignore[no-untyped-def]
        def work(uow):  # type: ignore[no-untyped-def]
            outcome = ChunkOutcome()
            applied, catalogue = screen_rows(Bulk(uow.session, uow.sqlite), ws, rows, outcome)
            found = [(a.line, a.screened, [catalogue.identifiers[c] for c in a.codes])
                     for a in applied]  # fmt: skip
            return found, catalogue.identifiers, outcome.counts, outcome.rejects

        return in_transaction(store, work)

    found = screened(shared)
    assert found == screened(copies)
    for line, alone, identifiers in found[0]:
        row = shared[line - 2].observation
        if raw("anonymous_id:gone") not in row.identifiers:
            expected = screen(row.identifiers, ws.policy, ws.hasher)
            assert (alone, identifiers) == (expected, expected.accepted)


def test_bulk_updates_and_upserts_change_only_their_rows(store):
    """``Bulk.update`` and ``Bulk.upsert`` (on PostgreSQL through a temporary table per
    shape of row) set exactly the rows they are given, several shapes in a transaction,
    and nothing staged in one transaction is applied again in the next."""
    columns = ["id", "tag", "n", "note"]

    def first(uow):  # type: ignore[no-untyped-def]
        bulk = Bulk(uow.session, uow.sqlite)
        uow.session.execute(text(
            "CREATE TABLE bulk_probe (id INTEGER PRIMARY KEY, tag VARCHAR(20) NOT NULL UNIQUE, "
            "n INTEGER NOT NULL, note VARCHAR(20))"))  # fmt: skip
        bulk.insert(
            "bulk_probe", columns, [(1, "a", 1, None), (2, "b", 2, None), (3, "c", 3, None)]
        )
        bulk.update("bulk_probe", ["n", "note"], [(10, "x", 1), (30, None, 3)])
        bulk.update("bulk_probe", ["note"], [("y", 2)])
        bulk.upsert("bulk_probe", columns, "tag", "n = bulk_probe.n + excluded.n",
                    [(9, "a", 5, None), (4, "d", 4, "new")])  # fmt: skip
        return _probe(uow)

    def second(uow):  # type: ignore[no-untyped-def]
        uow.session.execute(text("UPDATE bulk_probe SET n = 0"))
        Bulk(uow.session, uow.sqlite).update("bulk_probe", ["n", "note"], [(7, "z", 4)])
        return _probe(uow)

    try:
        assert in_transaction(store, first) == [
            (1, "a", 15, "x"),
            (2, "b", 2, "y"),
            (3, "c", 30, None),
            (4, "d", 4, "new"),
        ]
        assert in_transaction(store, second) == [
            (1, "a", 0, "x"),
            (2, "b", 0, "y"),
            (3, "c", 0, None),
            (4, "d", 7, "z"),
        ]
    finally:
        with store.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS bulk_probe"))


def _probe(uow):  # type: ignore[no-untyped-def]
    query = text("SELECT id, tag, n, note FROM bulk_probe ORDER BY id")
    return [tuple(row) for row in uow.session.execute(query)]
