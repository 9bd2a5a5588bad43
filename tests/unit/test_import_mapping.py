"""Import mappings: the command-line syntax, presets, and the up-front checks."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.errors import InvalidInput
from identity.imports.mapping import ImportMapping
from identity.imports.presets import PRESETS
from identity.imports.presets import build_mapping as _build
from identity.imports.spec import MappingSpec
from identity.observation import Observation, RawIdentifier
from identity.policy import default_policy

POLICY = default_policy()


def parse_mapping(**specs):  # type: ignore[no-untyped-def]
    from identity.imports.spec import parse_mapping

    return parse_mapping(MappingSpec(**specs))


def build_mapping(preset, **specs):  # type: ignore[no-untyped-def]
    return _build(preset, MappingSpec(**specs))


def problems(call, *args, **kwargs):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    return caught.value.errors


def test_scope_and_kind_can_come_from_other_columns_of_the_row():
    mapping = parse_mapping(
        maps=["openid=wechat_openid@{appid}", "device_id={device_type}", "uid=login_id@app1"],
        kinds=["device_type=iOS:idfa, android:oaid"],
    )
    openid, device, uid = mapping.identifiers

    assert (openid.kind.literal, openid.scope.column) == ("wechat_openid", "appid")
    assert device.kind.column == "device_type" and device.scope is None
    assert (uid.kind.literal, uid.scope.literal) == ("login_id", "app1")
    assert mapping.kinds == {"device_type": {"ios": "idfa", "android": "oaid"}}


def test_traits_tags_time_message_id_and_channel_are_read():
    mapping = parse_mapping(
        maps=["tel=phone"], traits=["lvl=membership_level", "city"], tags=["tags", "tags"],
        time="ts:epoch_ms", message_id="event_id", channel="{source}", event="login",
    )  # fmt: skip

    assert mapping.traits == {"lvl": "membership_level", "city": "city"}
    assert mapping.tags == ("tags",)
    assert (mapping.time.column, mapping.time.format) == ("ts", "epoch_ms")
    assert mapping.message_id == "event_id"
    assert mapping.channel.column == "source" and mapping.event.literal == "login"


def test_a_strptime_pattern_keeps_its_colons():
    mapping = parse_mapping(maps=["a=idfa"], time="when:%Y-%m-%d %H:%M:%S")

    assert (mapping.time.column, mapping.time.format) == ("when", "%Y-%m-%d %H:%M:%S")


def test_every_syntax_problem_is_reported_at_once():
    errors = problems(
        parse_mapping, maps=["no_equals", "x=@scope"], kinds=["dt=ios"], time="ts:fortnightly"
    )

    assert set(errors) == {"map.no_equals", "map.x", "kinds.dt", "time"}
    assert "unknown time format" in errors["time"]


def test_unknown_columns_and_kinds_are_refused_together_against_header_and_policy():
    mapping = parse_mapping(
        maps=["openid=wechat_openid", "dev={device_type}", "uid=login", "tel=phone@x"],
        kinds=["device_type=ios:idfa,web:cookie", "other=a:idfa"],
        traits=["missing_trait"], time="when", channel="{src}",
    )  # fmt: skip
    errors = problems(mapping.check, ["openid", "dev", "uid", "tel"], POLICY)

    assert "needs a scope" in errors["map.openid"]
    assert "unknown column 'device_type'" in errors["map.dev"]
    assert "unknown kind 'login'" in errors["map.uid"]
    assert "takes no scope" in errors["map.tel"]
    assert "unknown kind 'cookie'" in errors["kinds.device_type"]
    assert "no identifier takes its kind" in errors["kinds.other"]
    assert "unknown column" in errors["trait.missing_trait"]
    assert "unknown column 'when'" in errors["time"]
    assert "unknown column 'src'" in errors["channel"]


def test_a_csv_mapping_needs_an_identifier_and_a_jsonl_mapping_only_defaults():
    assert "map" in problems(parse_mapping(traits=["a"]).check, ["a"], POLICY)
    assert "map" in problems(parse_mapping(maps=["a=idfa"]).check, None, POLICY)
    assert "channel" in problems(parse_mapping(channel="{c}").check, None, POLICY)
    parse_mapping(channel="app", event="login").check(None, POLICY)


def test_a_mapping_survives_its_stored_document():
    mapping = parse_mapping(
        maps=["openid=wechat_openid@{appid}", "dev={t}"], kinds=["t=ios:idfa"],
        traits=["lvl=membership_level"], tags=["x"], time="ts:epoch", message_id="m",
        channel="app", event="{e}",
    )  # fmt: skip

    assert ImportMapping.from_document(mapping.as_document()) == mapping


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_fits_its_own_header(name):
    header = PRESETS[name].header.split(",")
    mapping = build_mapping(name).fit(header)
    mapping.check(header, POLICY)

    assert mapping.identifiers and mapping.channel is not None


def test_a_preset_leaves_out_its_columns_the_file_lacks_but_not_scope_columns():
    mapping = build_mapping("wechat-mp")

    fitted = mapping.fit(["openid", "appid", "unionid"])
    assert [i.column for i in fitted.identifiers] == ["openid", "unionid"]
    assert fitted.time is None
    assert "unknown column 'platform'" in problems(fitted.check, ["openid", "appid", "unionid"],
                                                   POLICY)["map.unionid"]  # fmt: skip


def test_a_preset_column_left_out_takes_its_kind_table_along():
    header = ["login_time", "app_id", "user_id", "phone"]  # no device_id, no device_type
    fitted = build_mapping("app-login").fit(header)

    fitted.check(header, POLICY)
    assert [i.column for i in fitted.identifiers] == ["user_id", "phone"]
    assert not fitted.kinds


def test_options_override_a_preset_column_by_column():
    mapping = build_mapping(
        "wechat-mp", maps=["unionid=wechat_unionid@open1", "phone="], time="ts:epoch",
        channel="wx_mall",
    )  # fmt: skip
    fitted = mapping.fit(["ts", "appid", "openid", "unionid"])

    unionid = next(i for i in fitted.identifiers if i.column == "unionid")
    assert unionid.scope.literal == "open1"
    assert "phone" not in [i.column for i in fitted.identifiers]
    assert (fitted.time.column, fitted.channel.text) == ("ts", "wx_mall")


def test_a_user_named_column_is_required_even_with_a_preset():
    fitted = build_mapping("crm-members", traits=["points"]).fit(["member_id"])

    assert "trait.points" in problems(fitted.check, ["member_id"], POLICY)


def test_an_unknown_preset_is_refused():
    assert "preset" in problems(build_mapping, "nope")


def test_a_delimiter_is_one_character_and_only_for_csv():
    assert "delimiter" in problems(parse_mapping, maps=["a=idfa"], delimiter="::")
    assert parse_mapping(maps=["a=idfa"], delimiter="semicolon").delimiter == ";"
    assert "delimiter" in problems(parse_mapping(delimiter="tab").check, None, POLICY)


@pytest.mark.parametrize("encoding", ["utf-16", "cp037", "no-such-codec"])
def test_an_encoding_must_spell_ascii_as_ascii(encoding):
    assert "encoding" in problems(parse_mapping, maps=["a=idfa"], encoding=encoding)
    assert parse_mapping(maps=["a=idfa"], encoding="GBK").encoding == "gbk"


def test_an_encoding_name_with_a_nul_is_a_problem_not_a_crash():
    assert "encoding" in problems(parse_mapping, maps=["a=idfa"], encoding="utf\x00-8")


# RowParser.parse_many takes a quicker way for common rows; it must give what parse gives.

HEADER = ["ts", "appid", "openid", "tel", "os", "dev", "pts", "tags", "mid", "src"]
CELL = st.sampled_from([
    "", " ", "a", " a ", "A", "wx1", "ios", "IOS", "Android", "gaid", "idfa", "null",
    "2024-05-01T08:30:00+08:00", "2024-05-01", "1714552200", "1714552200000", "-1e400",
    "12", "1.5", "many", "a|b, c", "a,a|b", "x" * 41, "x" * 101, "x" * 201, "x" * 256,
    "|".join(f"t{n}" for n in range(101)), "+86 138 0013 8000", "ö", "\u3000x\u3000",
])  # fmt: skip
MAPPINGS = {
    "columns": dict(maps=["openid=wechat_openid@{appid}", "tel=phone", "dev={os}"],
                    kinds=["os=ios:idfa,android:oaid"], traits=["pts=points", "src"],
                    tags=["tags", "src"], time="ts:iso", message_id="mid",
                    channel="{src}", event="{appid}"),
    "literals": dict(maps=["openid=wechat_openid@wx1", "dev=idfa", "openid=login_id@{appid}"],
                     time="ts:epoch_ms", channel="app", event="login"),
    "no time": dict(maps=["dev={os}", "tel=phone"], tags=["tags"], time="ts:%Y-%m-%d"),
    "no kinds": dict(maps=["openid=anonymous_id"]),
}  # fmt: skip


# Mostly good rows, whose cells repeat in other combinations: what is remembered of
# some cells must not stand for other cells.
GOOD = st.sampled_from(["", "a", "b", "wx1", "ios", "android", "2024-05-01", "1714552200"])
ROW = st.lists(st.one_of(GOOD, GOOD, GOOD, CELL), min_size=len(HEADER), max_size=len(HEADER))


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(MAPPINGS)),
    records=st.lists(st.one_of(ROW, ROW, st.lists(CELL, max_size=len(HEADER) + 1)), max_size=25),
)
def test_parse_many_gives_what_parse_gives_row_by_row(name, records):
    from datetime import UTC, datetime

    from identity.imports.columns import RowParser
    from identity.policy import Policy

    policy = Policy.from_document({"traits": {"points": {"merge": "sum"}}})
    stamp = datetime(2026, 1, 2, tzinfo=UTC)
    parser = RowParser(parse_mapping(**MAPPINGS[name]), HEADER, policy, stamp)
    expected = [parser.parse(record) for record in records]

    assert parser.parse_many(records) == expected
    assert parser.parse_many(records) == expected  # what it remembers changes nothing
    assert (
        RowParser(parse_mapping(**MAPPINGS[name]), HEADER, policy, stamp).parse_many(records[::-1])
        == expected[::-1]
    )


def test_parse_many_hands_out_one_object_for_the_same_identifier():
    from datetime import UTC, datetime

    from identity.imports.columns import RowParser

    header = ["uid", "app", "dev", "os"]
    mapping = parse_mapping(maps=["uid=login_id@{app}", "dev={os}"], kinds=["os=ios:idfa"])
    parser = RowParser(mapping, header, POLICY, datetime(2026, 1, 2, tzinfo=UTC))
    first, second, third = parser.parse_many(
        [["u1", "a", "d1", "ios"], ["u1", "a", "d2", "ios"], ["u1", "a", "d1", "ios"]]
    )

    assert first.identifiers[0] is second.identifiers[0] is third.identifiers[0]
    assert first.identifiers[1] is third.identifiers[1]
    assert first.identifiers is not third.identifiers  # each row has a list of its own


@given(
    st.lists(st.builds(RawIdentifier, st.text(max_size=3), st.text(max_size=3)), max_size=3),
    st.datetimes(timezones=st.just(UTC)),
    st.none() | st.text(max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=2),
    st.lists(st.text(max_size=3), max_size=3),
)
def test_an_observation_made_quickly_is_the_dataclasss_own(identifiers, at, text, traits, tags):
    quick = Observation.of(identifiers, at, text, text, text, traits, tags)
    made = Observation(identifiers, at, text, text, text, traits, tags)
    assert quick == made and repr(quick) == repr(made)
    assert vars(quick) == vars(made)  # every field, and only the fields
    with pytest.raises(FrozenInstanceError):
        quick.channel = "other"  # type: ignore[misc]
