"""The engine's vectorised evidence equals a plain loop over the rows in file order
(hypothesis, no database): identifiers' first and last use, links' evidence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from identity.imports.evidence import Evidence, Uses, link_evidence

CODES = 6
row = st.tuples(
    st.lists(st.integers(0, CODES - 1), min_size=1, max_size=4, unique=True),
    st.integers(0, 5),  # rank of the row's time
    st.sampled_from([None, "", "app", "mini", "crm"]),
    st.sampled_from([None, "m1", "m2"]),
)


def looped(rows) -> dict[tuple[int, int], Evidence]:  # type: ignore[no-untyped-def]
    """Each row's links folded in one by one, as identifying them in order does."""
    edges: dict[tuple[int, int], Evidence] = {}
    for codes, rank, channel, message_id in rows:
        head, *rest = codes
        for code in rest:
            found = edges.get((head, code))
            if found is None:
                edges[(head, code)] = Evidence(rank, rank, 1, [channel] if channel else [],
                                               message_id)  # fmt: skip
                continue
            found.count += 1
            found.first_seen, found.last_seen = (
                min(found.first_seen, rank),
                max(found.last_seen, rank),
            )
            if channel and channel not in found.channels:
                found.channels.append(channel)
    return edges


@settings(deadline=None)  # slow examples on a busy machine are no failure
@given(st.lists(row, max_size=25))
def test_link_evidence_equals_folding_the_rows_in_order(rows):
    uses = Uses.of([r[0] for r in rows], [r[1] for r in rows])
    got = link_evidence(uses, [r[2] for r in rows], [r[3] for r in rows], CODES)
    want = looped(rows)
    assert got == want
    assert list(got) == list(want)  # links are inserted in the order they first appear


@settings(deadline=None)  # slow examples on a busy machine are no failure
@given(st.lists(row, max_size=25))
def test_first_and_last_use_of_each_identifier(rows):
    want: dict[int, tuple[int, int]] = {}
    for codes, rank, _, _ in rows:
        for code in codes:
            first, last = want.get(code, (rank, rank))
            want[code] = (min(first, rank), max(last, rank))
    got = Uses.of([r[0] for r in rows], [r[1] for r in rows]).first_last(CODES)
    assert got == want
