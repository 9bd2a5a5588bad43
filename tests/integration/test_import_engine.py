"""The import engine on real SQLite and PostgreSQL: outcomes and equality with identify."""

from __future__ import annotations

from identity.imports.engine import apply_rows
from identity.imports.rows import ImportRow
from identity.observation import RawIdentifier
from identity.services.identify import identify
from identity.services.transactions import in_transaction
from tests.invariants import assert_invariants, stored_partition
from tests.oracle import observation


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
