"""Import mappings: the command-line syntax, presets, and the up-front checks."""

from __future__ import annotations

import pytest

from identity.errors import InvalidInput
from identity.imports.mapping import ImportMapping
from identity.imports.presets import PRESETS
from identity.imports.presets import build_mapping as _build
from identity.imports.spec import MappingSpec
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
