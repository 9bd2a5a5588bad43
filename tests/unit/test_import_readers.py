"""Readers of CSV and JSON Lines exports: rows, every kind of reject, resumable positions."""

from __future__ import annotations

import csv
import gc
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.errors import InvalidInput
from identity.imports.readers import Position, read_chunks, read_header, read_rows
from identity.imports.rows import ImportRow, Reject
from identity.imports.spec import MappingSpec, parse_mapping
from identity.observation import RawIdentifier
from identity.policy import Policy, default_policy

POLICY = default_policy()


def spec_mapping(**specs):  # type: ignore[no-untyped-def]
    return parse_mapping(MappingSpec(**specs))


T_IMPORT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PHONE = "+86 138 0013 8000"


def write(tmp_path: Path, content: str | bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def items(path: Path, mapping, format="csv", start=None, policy: Policy = POLICY):  # type: ignore[no-untyped-def]
    return [item for item, _ in read_rows(path, format, mapping, policy, T_IMPORT, start)]


def rejects(found) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return {item.line: item.reason for item in found if isinstance(item, Reject)}


MAPPING = spec_mapping(
    maps=["openid=wechat_openid@{appid}", "tel=phone", "dev={os}"],
    kinds=["os=ios:idfa,android:oaid"],
    traits=["lvl=membership_level"],
    tags=["tags"],
    time="ts:iso",
    message_id="mid",
    channel="mp",
)
HEADER = "ts,appid,openid,tel,os,dev,lvl,tags,mid\n"


def test_a_csv_row_becomes_an_observation_with_every_mapped_part(tmp_path):
    path = write(tmp_path, "\ufeff" + HEADER + f"2024-05-01T08:30:00+08:00,wx1,o-1,{PHONE},iOS,"
                 "6D92078A-8246-4BA4-AE5B-76104861E7DC,gold,\"a|b, c\",m-1\n")  # fmt: skip
    [row] = items(path, MAPPING)

    assert isinstance(row, ImportRow) and row.line == 2
    obs = row.observation
    assert list(obs.identifiers) == [
        RawIdentifier("wechat_openid", "o-1", "wx1"), RawIdentifier("phone", PHONE),
        RawIdentifier("idfa", "6D92078A-8246-4BA4-AE5B-76104861E7DC"),
    ]  # fmt: skip
    assert obs.timestamp == datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
    assert (obs.channel, obs.message_id, obs.traits) == ("mp", "m-1", {"membership_level": "gold"})
    assert list(obs.tags) == ["a", "b", "c"]


def test_empty_cells_are_left_out_and_an_unlisted_kind_value_is_taken_as_a_kind(tmp_path):
    path = write(tmp_path, HEADER + "2024-05-01,wx1,o-1,,gaid,abc,,,\n")
    [row] = items(path, MAPPING)

    assert list(row.observation.identifiers) == [
        RawIdentifier("wechat_openid", "o-1", "wx1"), RawIdentifier("gaid", "abc"),
    ]  # fmt: skip
    assert (row.observation.message_id, dict(row.observation.traits)) == (None, {})


def test_every_kind_of_bad_csv_row_is_rejected_with_its_line_and_the_rest_is_read(tmp_path):
    good = "2024-05-01,wx1,o-1,,,,,,"
    content = (HEADER.encode() + f"{good}\n".encode()  # line 2
               + b"2024-05-01,wx1,o-2\n"  # 3: too few columns
               + b"2024-05-01,wx1,o-\xff3,,,,,,\n"  # 4: broken UTF-8
               + b"yesterday,wx1,o-4,,,,,,\n"  # 5: unparseable time
               + b",,,,,,,,\n"  # 6: nothing to identify by
               + b"\n"  # 7: blank, skipped
               + f"2024-05-01,wx1,{'x' * 300},,,,,,\n".encode()  # 8: too long
               + f"{good}\n".encode())  # fmt: skip
    path = write(tmp_path, content)
    found = items(path, MAPPING)

    assert [i.line for i in found if isinstance(i, ImportRow)] == [2, 9]
    offset = len(HEADER) + len(good) + 1 + len("2024-05-01,wx1,o-2\n") + len("2024-05-01,wx1,o-")
    assert rejects(found) == {
        3: "expected 9 columns, found 3",
        4: f"invalid UTF-8 at byte offset {offset}",
        5: "column ts: not a time in the format ISO 8601, e.g. 2024-05-01T08:30:00+08:00",
        6: "no identifier: every identifier column is empty",
        8: "column openid: a value has at most 255 characters",
    }


def test_a_reject_never_shows_a_phone_number(tmp_path):
    mapping = spec_mapping(maps=["tel=phone"], time="ts:epoch")
    path = write(tmp_path, f"tel,ts\n{PHONE},soon\n{PHONE * 20},1\n{PHONE},1,2\n")
    reasons = rejects(items(path, mapping)).values()

    assert len(reasons) == 3
    assert all("138" not in r and "8000" not in r for r in reasons)


@pytest.mark.parametrize(
    ("time", "cell", "expected"),
    [("ts:epoch", "1714552200", datetime(2024, 5, 1, 8, 30, tzinfo=UTC)),
     ("ts:epoch_ms", "1714552200500", datetime(2024, 5, 1, 8, 30, 0, 500000, tzinfo=UTC)),
     ("ts:iso", "2024-05-01T08:30:00Z", datetime(2024, 5, 1, 8, 30, tzinfo=UTC)),
     ("ts:%Y/%m/%d %H:%M", "2024/05/01 08:30", datetime(2024, 5, 1, 8, 30, tzinfo=UTC))],
)  # fmt: skip
def test_timestamps_in_each_format(tmp_path, time, cell, expected):
    path = write(tmp_path, f"id,ts\na,{cell}\n")
    [row] = items(path, spec_mapping(maps=["id=anonymous_id"], time=time))

    assert row.observation.timestamp == expected


def test_an_unparseable_time_names_the_column_and_the_pattern(tmp_path):
    path = write(tmp_path, "id,ts\na,2024-05-01\n")
    found = items(path, spec_mapping(maps=["id=anonymous_id"], time="ts:%d/%m/%Y"))

    assert rejects(found) == {2: "column ts: not a time in the format the pattern %d/%m/%Y"}


def test_without_a_time_column_rows_get_the_import_time_and_summed_traits_a_number(tmp_path):
    policy = Policy.from_document({"traits": {"points": {"merge": "sum"}}})
    path = write(tmp_path, "id,points,note\na,12,7\nb,1.5,x\nc,many,\n")
    mapping = spec_mapping(maps=["id=anonymous_id"], traits=["points", "note"])
    rows = items(path, mapping, policy=policy)

    assert [dict(r.observation.traits) for r in rows] == [
        {"points": 12, "note": "7"},
        {"points": 1.5, "note": "x"},
        {"points": "many"},
    ]
    assert {r.observation.timestamp for r in rows} == {T_IMPORT}


def test_a_quoted_field_over_two_lines_is_one_row_named_by_its_first_line(tmp_path):
    path = write(tmp_path, 'id,note\r\na,"two\r\nlines"\r\nb,x\r\n')
    rows = items(path, spec_mapping(maps=["id=anonymous_id"], traits=["note"]))

    assert [(r.line, r.observation.traits["note"]) for r in rows] == [(2, "two\r\nlines"), (4, "x")]


def test_reading_from_any_position_continues_exactly_where_it_stood(tmp_path):
    lines = [f"u{n},{'2024-05-01' if n % 3 else 'bad'}" for n in range(20)]
    path = write(tmp_path, "id,ts\n" + "\n".join(lines) + "\n")
    mapping = spec_mapping(maps=["id=anonymous_id"], time="ts:iso")
    every = list(read_rows(path, "csv", mapping, POLICY, T_IMPORT))

    for cut in (0, 1, 7, 19):
        _, position = every[cut]
        rest = items(path, mapping, start=position)
        assert rest == [item for item, _ in every[cut + 1 :]]


def test_a_header_must_be_readable(tmp_path):
    with pytest.raises(InvalidInput):
        read_header(write(tmp_path, ""))
    with pytest.raises(InvalidInput):
        read_header(write(tmp_path, b"id,\xff\n"))
    assert read_header(write(tmp_path, "\ufeffa, b\nx,y\n")) == (["a", "b"], Position(1, 8))


JSONL_MAPPING = spec_mapping(channel="app")


def test_a_jsonl_line_is_an_identify_body_with_the_import_time_and_channel_as_defaults(tmp_path):
    lines = [
        {"identifiers": [{"kind": "login_id", "scope": "app", "value": "u1"}], "tags": ["a"]},
        {"identifiers": [{"kind": "idfa", "value": "x"}], "channel": "web",
         "timestamp": "2024-05-01T08:30:00+08:00"},
    ]  # fmt: skip
    path = write(tmp_path, "\n".join(json.dumps(x) for x in lines) + "\n", "e.jsonl")
    first, second = items(path, JSONL_MAPPING, "jsonl")

    assert (first.line, first.observation.channel, first.observation.timestamp) == (
        1, "app", T_IMPORT)  # fmt: skip
    assert list(first.observation.identifiers) == [RawIdentifier("login_id", "u1", "app")]
    assert (second.observation.channel, second.observation.timestamp.hour) == ("web", 8)


def test_every_kind_of_bad_jsonl_line_is_rejected_with_its_line(tmp_path):
    ok = '{"identifiers": [{"kind": "idfa", "value": "x"}]}'
    content = "\n".join([
        ok,
        '{"identifiers": [',  # 2: bad JSON
        '["not", "an", "object"]',  # 3
        '{"identifiers": [{"kind": "idfa", "value": "x"}], "colour": "red"}',  # 4: unknown
        '{"identifiers": [{"kind": "phone"}]}',  # 5: missing value
        "",  # 6: blank, skipped
        '{"identifiers": [], "timestamp": "soon"}',  # 7
    ]).encode() + b'\n{"identifiers": "\xc3"}\n' + ok.encode()  # 8: broken UTF-8, 9  # fmt: skip
    path = write(tmp_path, content, "e.jsonl")
    found = items(path, JSONL_MAPPING, "jsonl")

    assert [i.line for i in found if isinstance(i, ImportRow)] == [1, 9]
    reasons = rejects(found)
    assert reasons[2].startswith("invalid JSON: Expecting value (column 18)")
    assert reasons[3] == "a line must be a JSON object shaped like a POST /v1/identify body"
    assert reasons[4] == "invalid observation: colour: Unknown field."
    assert (
        reasons[5] == "invalid observation: identifiers.0.value: Missing data for required field."
    )
    assert "identifiers: Length must be between 1 and 50." in reasons[7]
    assert "timestamp: Not a valid datetime." in reasons[7]
    bad_byte = content.index(b"\xc3")
    assert reasons[8] == f"invalid UTF-8 at byte offset {bad_byte}"
    assert set(reasons) == {2, 3, 4, 5, 7, 8}


def test_a_runaway_quoted_field_and_an_overlong_line_are_rejected_and_reading_goes_on(tmp_path):
    from identity.imports import readers

    huge = "x" * 140_000  # over the csv module's field limit, under the line limit
    path = write(tmp_path, f'id,note\na,"{huge}"\nb,ok\n')
    found = items(path, spec_mapping(maps=["id=anonymous_id"], traits=["note"]))
    assert rejects(found) == {2: "unreadable CSV: field larger than field limit (131072)"}
    assert [i.line for i in found if isinstance(i, ImportRow)] == [3]

    ok = b'{"identifiers": [{"kind": "idfa", "value": "x"}]}\n'
    long_line = b'{"identifiers": [], "x": "' + b"y" * readers.MAX_LINE_BYTES + b'"}\n'
    path = write(tmp_path, ok + long_line + ok, "e.jsonl")
    found = items(path, spec_mapping(), "jsonl")
    assert rejects(found) == {2: f"a line longer than {readers.MAX_LINE_BYTES} bytes"}
    assert [i.line for i in found if isinstance(i, ImportRow)] == [1, 3]


@pytest.mark.parametrize(("spelt", "char"), [("tab", "\t"), (";", ";"), ("pipe", "|")])
def test_a_delimiter_other_than_a_comma(tmp_path, spelt, char):
    path = write(tmp_path, f"id{char}tags\na{char}x,y\n")
    mapping = spec_mapping(maps=["id=anonymous_id"], tags=["tags"], delimiter=spelt)
    [row] = items(path, mapping)

    assert list(row.observation.tags) == ["x", "y"]
    assert read_header(path, mapping)[0] == ["id", "tags"]


def test_a_gb18030_export_reads_with_its_encoding_and_bad_bytes_name_it(tmp_path):
    content = "会员号,等级\nM1,金卡\n".encode("gb18030") + b"M2,\x81\n"
    path = write(tmp_path, content)
    mapping = spec_mapping(maps=["会员号=member_id"], traits=["等级=membership_level"],
                           encoding="GB18030")  # fmt: skip
    found = items(path, mapping)

    assert found[0].observation.traits == {"membership_level": "金卡"}
    assert rejects(found) == {3: f"invalid gb18030 at byte offset {len(content) - 2}"}


def test_a_csv_line_longer_than_the_line_limit_is_rejected_and_reading_goes_on(tmp_path):
    from identity.imports import readers

    path = write(tmp_path, f"id,note\na,{'x' * readers.MAX_LINE_BYTES}\nb,ok\n")
    found = items(path, spec_mapping(maps=["id=anonymous_id"], traits=["note"]))

    assert rejects(found) == {2: f"a line longer than {readers.MAX_LINE_BYTES} bytes"}
    assert [i.line for i in found if isinstance(i, ImportRow)] == [3]


# Plain lines are split without the csv module; every file must read exactly as the csv
# module reads it line by line (csv_batches(plain=False), the reader before blocks).

CELLS = {
    "ts": ["2024-05-01T08:30:00+08:00", "2024-05-01", " 2024-05-01T08:30:00Z ", "soon", ""],
    "appid": ["wx1", " wx2 ", "", "a" * 101],
    "openid": ["o-1", "o-2", " o-1 ", "", "ö", "x" * 256],
    "tel": [PHONE, "", "null"],
    "os": ["iOS", "android", "gaid", "", "k" * 41],
    "dev": ["6D92078A-8246-4BA4-AE5B-76104861E7DC", "abc", "", "null"],
    "lvl": ["gold", "", " 3 "],
    "tags": ["a|b, c", "", "t" * 101, "a,a|b", "|".join(f"t{n}" for n in range(101))],
    "mid": ["", "m-1", "m-2", "m" * 201],
}


#: Fields that look quoted but that the csv module reads otherwise than without quotes.
ODD_QUOTES = [' "{}"', '"{}" ', '"{}"x', 'x"{}"', '"{}""q"', 'a"{}', '"{}', '{}"', '"a,{}"']


@pytest.mark.parametrize("odd", ODD_QUOTES)
def test_a_file_that_quotes_every_field_reads_as_the_csv_module_reads_it(tmp_path, odd):
    cells = ["2024-05-01", "wx1", "o-1", PHONE, "iOS", "abc", "gold", "a|b", "m-1"]
    lines = [",".join(f'"{cell}"' for cell in cells)]
    lines += [",".join(f'"{cell}"' if k != at else odd.format(cell) for k, cell in enumerate(cells))
              for at in range(len(cells))]  # fmt: skip
    path = write(tmp_path, HEADER + "\r\n".join(lines) + "\n")

    found = list(read_rows(path, "csv", MAPPING, POLICY, T_IMPORT))

    assert found == reference(path, MAPPING) and len(found) == len(lines)
    assert found[0][0].observation.traits == {"membership_level": "gold"}


@st.composite
def csv_lines(draw: st.DrawFn) -> bytes:
    """A CSV line of the columns of ``HEADER``: plain, every field quoted (as some exports
    write them, now and then in a shape the csv module reads otherwise), quoted (over
    lines too), of the wrong width, blank, with bad bytes, a lone carriage return or a
    NUL."""
    cells = [draw(st.sampled_from(values)) for values in CELLS.values()]
    shape = draw(st.sampled_from(
        ["plain"] * 6 + ["all quoted"] * 4 + ["quoted", "width", "blank", "bytes", "odd"]
    ))  # fmt: skip
    if shape == "all quoted":
        quoted = [draw(st.sampled_from(['"{}"'] * 3 + ["{}"])).format(cell) for cell in cells]
        if draw(st.booleans()):  # one field in a shape that the csv module reads otherwise
            at = draw(st.integers(0, len(cells) - 1))
            quoted[at] = draw(st.sampled_from(ODD_QUOTES)).format(cells[at])
        cells = quoted
    elif shape == "quoted":
        at = draw(st.integers(0, len(cells) - 1))
        inner = draw(st.sampled_from(["a,b", 'say "hi"', "two\nlines", "cr\r\nlf", ""]))
        cells[at] = '"' + (cells[at] + inner).replace('"', '""') + '"'
    elif shape == "width":
        cells = cells[: draw(st.integers(0, len(cells) - 1))] or [*cells, "extra"]
    elif shape == "blank":
        cells = [draw(st.sampled_from(["", " ", "\r"]))]
    text = ",".join(cells).encode()
    if shape == "bytes":
        text += draw(st.sampled_from([b"\xff", b"\xc3", b"\xe4\xb8"]))
    elif shape == "odd":
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from([b"\r", b"\x00", b'"', b"\t"])) + text[cut:]
    return text + draw(st.sampled_from([b"\n", b"\n", b"\r\n", b""]))


def reference(path: Path, mapping, start=None) -> list:  # type: ignore[no-untyped-def]
    from identity.imports.csvrows import csv_batches

    batches = csv_batches(path, mapping, POLICY, T_IMPORT, start, plain=False)
    return [(row, ends[n]) for rows, ends in batches for n, row in enumerate(rows)]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(csv_lines(), max_size=30),
    block=st.sampled_from([8, 64, 1 << 20]),
    field_limit=st.sampled_from([131_072, 80]),
    bom=st.booleans(),
    data=st.data(),
)
def test_plain_reading_reads_every_file_as_the_csv_module_does(
    tmp_path, monkeypatch, lines, block, field_limit, bom, data
):  # fmt: skip
    from identity.imports import blocks

    monkeypatch.setattr(blocks, "BLOCK_BYTES", block)
    path = write(tmp_path, ("\ufeff" if bom else "").encode() + HEADER.encode() + b"".join(lines))
    old_limit = csv.field_size_limit(field_limit)
    try:
        expected = reference(path, MAPPING)
        assert list(read_rows(path, "csv", MAPPING, POLICY, T_IMPORT)) == expected
        if expected:
            cut = data.draw(st.integers(0, len(expected) - 1))
            rest = list(read_rows(path, "csv", MAPPING, POLICY, T_IMPORT, expected[cut][1]))
            assert rest == reference(path, MAPPING, expected[cut][1]) == expected[cut + 1 :]
    finally:
        csv.field_size_limit(old_limit)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(csv_lines(), max_size=40), size=st.integers(1, 12))
def test_chunks_are_the_rows_in_order_each_with_the_position_after_its_last(
    tmp_path, lines, size
):  # fmt: skip
    path = write(tmp_path, HEADER.encode() + b"".join(lines))
    every = list(read_rows(path, "csv", MAPPING, POLICY, T_IMPORT))
    chunks = list(read_chunks(path, "csv", MAPPING, POLICY, T_IMPORT, size))

    assert [rows for rows, _ in chunks] == [
        [row for row, _ in every[at : at + size]] for at in range(0, len(every), size)
    ]
    assert [end for _, end in chunks] == [every[min(at + size, len(every)) - 1][1]
                                          for at in range(0, len(every), size)]  # fmt: skip


def test_chunks_of_a_jsonl_file_and_the_collector_left_as_it_was(tmp_path):
    ok = '{"identifiers": [{"kind": "idfa", "value": "x"}]}\n'
    path = write(tmp_path, ok * 5, "e.jsonl")
    chunks = list(read_chunks(path, "jsonl", JSONL_MAPPING, POLICY, T_IMPORT, 2))

    assert [[row.line for row in rows] for rows, _ in chunks] == [[1, 2], [3, 4], [5]]
    assert chunks[-1][1] == Position(5, len(ok) * 5)
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("encoding", "text"),
    [("utf-8", "会员号,等级\nM1,金卡\nM2,\"银,卡\"\nM3,普通\n"),
     ("gb18030", "会员号,等级\nM1,金卡\nM2,\"银,卡\"\nM3,普通\n"),
     ("big5", "會員號,等級\nM1,金卡\nM2,\"銀,卡\"\nM3,普通\n"),
     ("shift_jis", "会員番号,等級\nM1,金\nM2,\"銀,カード\"\nM3,普通\n"),
     ("latin-1", "id,lvl\nM1,é\nM2,\"à,b\"\nM3,ü\n")],
)  # fmt: skip
def test_plain_reading_of_each_encoding_is_the_csv_modules(tmp_path, encoding, text):
    path = write(tmp_path, text.encode(encoding) + b"M4,\x81\nM5,x\n")
    header = text.split("\n")[0].split(",")
    mapping = spec_mapping(maps=[f"{header[0]}=member_id"],
                           traits=[f"{header[1]}=membership_level"], encoding=encoding)  # fmt: skip

    assert list(read_rows(path, "csv", mapping, POLICY, T_IMPORT)) == reference(path, mapping)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.lists(st.sampled_from(["o-1", "a", ",", '"', '""', " ", "\n", "\r\n"]), max_size=60),
    block=st.sampled_from([8, 1 << 20]),
)
def test_any_text_of_quotes_delimiters_and_line_ends_reads_as_the_csv_module_reads_it(
    tmp_path, monkeypatch, body, block
):  # fmt: skip
    """Lines that open a quoted field, continue one or close it, stray quotes and whole
    quoted records side by side: the lines read alone or with the plain ones must give
    what the csv module gives reading the file line by line."""
    from identity.imports import blocks

    monkeypatch.setattr(blocks, "BLOCK_BYTES", block)
    header = "openid,appid\n"
    mapping = spec_mapping(maps=["openid=wechat_openid@{appid}"])
    path = write(tmp_path, header + "".join(body))

    assert list(read_rows(path, "csv", mapping, POLICY, T_IMPORT)) == reference(path, mapping)
