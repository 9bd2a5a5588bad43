from datetime import UTC, datetime

import pytest

from api.exports import csv_lines, jsonl_lines
from identity.audience import Audience, decode_cursor, encode_cursor
from identity.errors import InvalidInput

ROW = {"person_id": "p_1", "traits": {"membership_level": "gold", "vip": True},
       "tags": ["tea", "air_purifier"], "channels": ["app"],
       "last_seen": datetime(2026, 10, 1, tzinfo=UTC)}  # fmt: skip


def test_a_cursor_round_trips_and_is_opaque():
    cursor = encode_cursor("p_01ABC")
    assert "p_01ABC" not in cursor
    assert decode_cursor(cursor) == "p_01ABC"


@pytest.mark.parametrize("cursor", ["", "!!!", "eyJ4IjoxfQ", "WzFd", "eyJhZnRlciI6MX0"])
def test_a_foreign_cursor_is_invalid_input(cursor):
    with pytest.raises(InvalidInput):
        decode_cursor(cursor)


def test_an_audience_without_conditions_is_everyone():
    assert Audience().is_everyone
    assert not Audience(tags=("tea",)).is_everyone


def test_csv_lines_have_the_key_traits_and_the_asked_ones():
    header, line = list(csv_lines([ROW], ["vip"]))
    assert header == "person_id,membership_level,consumption_level,vip,tags,channels,last_seen\n"
    assert line == "p_1,gold,,true,tea|air_purifier,app,2026-10-01T00:00:00+00:00\n"


def test_jsonl_lines_are_one_object_per_line():
    (line,) = list(jsonl_lines([ROW]))
    assert line.endswith("}\n") and line.count("\n") == 1
    assert '"last_seen":"2026-10-01T00:00:00+00:00"' in line
