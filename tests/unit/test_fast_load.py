"""The fast path of the hot request schemas agrees with marshmallow wherever it answers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from api.schemas import ObservationSchema, ResolveSchema

FIXED = datetime(2026, 1, 1, tzinfo=UTC)
text = st.text(min_size=1, max_size=3) | st.sampled_from(["", "a" * 41, "a" * 101, "a" * 256])
anything = st.one_of(st.none(), st.integers(), st.booleans(), text, st.lists(text, max_size=2),
                     st.dictionaries(text, text, max_size=2))  # fmt: skip
identifier = st.fixed_dictionaries(
    {"kind": text, "value": text}, optional={"scope": st.none() | text}
)
body = st.fixed_dictionaries(
    {"identifiers": st.lists(identifier, min_size=1, max_size=3)},
    optional={"message_id": text, "channel": text, "event": text,
              "traits": st.dictionaries(text, anything, max_size=2),
              "tags": st.lists(text, max_size=2),
              "timestamp": st.sampled_from(["2026-11-01T09:30:00+08:00", "2026-11-01T01:30:00",
                                            "yesterday", 3])},
)  # fmt: skip
# Well-formed bodies, and bodies with one field (or one identifier's field) broken.
broken_field = st.tuples(
    st.sampled_from(["identifiers", "message_id", "traits", "tags", "extra", "kind", "scope"]),
    anything,
)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    data = draw(body)
    if draw(st.booleans()):
        name, value = draw(broken_field)
        if name in ("kind", "scope"):
            data["identifiers"][0][name] = value
        else:
            data[name] = value
    return data


def slow(schema: Schema, data: Any) -> Any:
    try:
        return Schema.load(schema, data)
    except ValidationError:
        return "invalid"


def same(loaded: Any, data: Any) -> Any:
    if dataclasses.is_dataclass(loaded) and "timestamp" not in data:
        return dataclasses.replace(loaded, timestamp=FIXED)  # the default is "now"
    return loaded


@pytest.mark.parametrize("schema", [ObservationSchema(), ResolveSchema()])
@settings(max_examples=300, deadline=None)
@given(data=bodies())
def test_the_fast_path_answers_only_what_marshmallow_answers_alike(schema, data):
    if isinstance(schema, ResolveSchema) and "extra" not in data:
        data = {"identifiers": data["identifiers"]}
    fast = schema.fast_load(data)

    if fast is not None:
        assert same(fast, data) == same(slow(schema, data), data)


def test_well_formed_bodies_take_the_fast_path():
    body = {"identifiers": [{"kind": "login_id", "scope": "app", "value": "u-1"},
                            {"kind": "phone", "value": "+86 139 0000 0001"}],
            "message_id": "m-1", "channel": "app", "event": "login",
            "traits": {"membership_level": "gold"}, "tags": ["tea"],
            "timestamp": "2026-11-01T09:30:00+08:00"}  # fmt: skip

    observation = ObservationSchema().fast_load(body)
    resolve = ResolveSchema().fast_load({"identifiers": body["identifiers"]})

    assert observation is not None and resolve is not None
    assert observation == slow(ObservationSchema(), body)
    assert resolve == slow(ResolveSchema(), {"identifiers": body["identifiers"]})
