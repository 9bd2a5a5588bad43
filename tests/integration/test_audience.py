from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from identity.audience import Audience
from identity.errors import InvalidInput
from identity.observation import Observation, RawIdentifier
from identity.services import audience
from identity.services.identify import identify

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def seen(store, ws, value, channel, days=0, tags=(), **traits):
    observation = Observation([RawIdentifier("anonymous_id", value)], T0 + timedelta(days=days),
                              channel=channel, tags=list(tags), traits=traits)  # fmt: skip
    return identify(store, ws, observation)["person_id"]


def ids(result):
    return [p["person_id"] for p in result["persons"]]


def test_merged_persons_are_found_once_under_the_survivor(store, ws):
    a = seen(store, ws, "a", "app", tags=["tea"])
    seen(store, ws, "b", "wechat_mp", tags=["tea"])
    merged = identify(store, ws, Observation(
        [RawIdentifier("anonymous_id", "a"), RawIdentifier("anonymous_id", "b")], T0))  # fmt: skip
    assert merged["outcome"] == "merged"
    assert ids(audience.search(store, ws, Audience(tags=("tea",)), None, 10)) == [a]
    assert ids(audience.search(store, ws, Audience(), None, 10)) == [a]
    overlap = audience.overlap(store, ws, ["app", "wechat_mp"])
    assert overlap["per_channel"] == {"app": 1, "wechat_mp": 1}
    assert overlap["combinations"][0] == {"channels": ["app", "wechat_mp"], "persons": 1}


def test_typed_trait_values_are_searched_by_their_json_text(store, ws):
    vip = seen(store, ws, "v", "app", vip=True, points=5)
    seen(store, ws, "w", "app", vip=False, points=5.5)
    assert ids(audience.search(store, ws, Audience(traits=(("vip", "true"),)), None, 5)) == [vip]
    found = audience.search(store, ws, Audience(traits=(("points", "5"),)), None, 5)
    assert ids(found) == [vip]


def test_seen_since_applies_to_the_named_channel(store, ws):
    recent_app = seen(store, ws, "r", "app", days=30)
    old_app = seen(store, ws, "o", "app", days=1)
    seen(store, ws, "o", "wechat_mp", days=30)
    since = T0 + timedelta(days=20)
    in_app = Audience(channels=("app",), seen_since=since)
    assert ids(audience.search(store, ws, in_app, None, 5)) == [recent_app]
    anywhere = Audience(seen_since=since)
    assert ids(audience.search(store, ws, anywhere, None, 5)) == sorted([recent_app, old_app])


def test_export_reads_every_page(store, ws, monkeypatch):
    monkeypatch.setattr(audience, "EXPORT_PAGE", 3)
    made = sorted(seen(store, ws, f"x{i}", "app", tags=["tea"]) for i in range(7))
    exported = [row["person_id"] for row in audience.export(store, ws, Audience(tags=("tea",)))]
    assert exported == made


def test_overlap_refuses_too_many_channels(store, ws):
    with pytest.raises(InvalidInput):
        audience.overlap(store, ws, [f"c{i}" for i in range(9)])


def test_the_audience_indexes_exist(store):
    """The migration is the schema: the indexes the audience pages rely on are there."""
    query = {
        True: "SELECT name FROM sqlite_master WHERE type = 'index'",
        False: "SELECT indexname FROM pg_indexes",
    }[store.sqlite]
    with store.engine.connect() as connection:
        names = set(connection.execute(text(query)).scalars())
    assert {"ix_person_tags_audience", "ix_person_traits_audience",
            "ix_person_channels_audience"} <= names  # fmt: skip
