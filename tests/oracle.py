"""The reference world the tests compare against: screening plus the in-memory graph.

``identity.reference.InMemoryIdentityGraph`` is the oracle; this module adds what every
test level needs around it: raw identifiers written as ``kind[@scope]:value``, a world
that screens them the way the service does, and the random observation sequences that
the property, integration and concurrency tests share.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from identity.identifiers import Identifier, parse_identifier
from identity.normalise import KeyedHasher
from identity.observation import Observation, RawIdentifier, Screened, screen
from identity.policy import Policy, default_policy
from identity.reference import InMemoryIdentityGraph
from identity.resolution import Decision

# The same secret as ``tests/conftest.py``, so that hashes agree with the stores'.
SECRET = b"test-secret-0123456789abcdef"
HASHER = KeyedHasher(SECRET)
T0 = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


def raw(text: str) -> RawIdentifier:
    """``raw("login_id@app:A")`` -> ``RawIdentifier("login_id", "A", "app")``."""
    kind, scope, value = parse_identifier(text)
    return RawIdentifier(kind, value, scope or None)


def as_raw(items: Iterable[str | RawIdentifier]) -> list[RawIdentifier]:
    return [raw(i) if isinstance(i, str) else i for i in items]


class ReferenceWorld:
    """The reference graph behind the same screening the service applies."""

    def __init__(self, policy: Policy | None = None, hasher: KeyedHasher = HASHER) -> None:
        self.policy = policy or default_policy()
        self.hasher = hasher
        self.graph = InMemoryIdentityGraph(self.policy)

    def screen(self, *identifiers: str | RawIdentifier) -> Screened:
        return screen(as_raw(identifiers), self.policy, self.hasher)

    def accept(self, text: str | RawIdentifier) -> Identifier:
        """The stored form of one identifier (normalised, hashed when personal)."""
        screened = self.screen(text)
        assert screened.accepted, f"{text} is not a usable identifier"
        return screened.accepted[0]

    def identify(self, *identifiers: str | RawIdentifier) -> Decision:
        screened = self.screen(*identifiers)
        screened.refuse_if_empty()
        return self.graph.identify(screened.accepted)

    def person_of(self, text: str | RawIdentifier) -> str | None:
        return self.graph.owner(self.accept(text))

    def identifiers_of(self, person_id: str) -> set[Identifier]:
        return set(self.graph.identifiers_of(self.graph.resolve(person_id)))


def reference_partition(
    observations: Sequence[Observation], policy: Policy, hasher: KeyedHasher = HASHER
) -> tuple[set[frozenset[Identifier]], list[Decision | None]]:
    """The persons the reference makes of ``observations`` in order, and each decision
    (``None`` where the observation is refused)."""
    graph = InMemoryIdentityGraph(policy)
    decisions: list[Decision | None] = []
    for observation in observations:
        accepted = screen(observation.identifiers, policy, hasher).accepted
        decisions.append(graph.identify(accepted) if accepted else None)
    return graph.partition(), decisions


def tight_policy() -> Policy:
    """The default policy with small limits, so that short random sequences hit them."""
    document = default_policy().as_document()
    for kind in ("email", "idfa", "anonymous_id"):
        document["kinds"][kind]["limit"] = 2
    return Policy.from_document(document)


# Small alphabets so that random observations share identifiers, merge and conflict.
# Spellings differ on purpose: the two ways of writing 138 0013 8000 are one phone.
POOL: tuple[str, ...] = (
    "login_id@app1:A",
    "login_id@app1:B",
    "login_id@app1:C",
    "login_id@app2:A",
    "member_id:M1",
    "member_id:M2",
    "phone:13800138000",
    "phone:+86 138 0013 8000",
    "phone:13900139000",
    "email:ann@example.com",
    "email:ANN@example.com ",
    "email:bob@example.com",
    "email:cy@example.com",
    "wechat_unionid@open1:U1",
    "wechat_unionid@open1:U2",
    "wechat_openid@wxA:o1",
    "wechat_openid@wxB:o1",
    "wechat_openid@wxA:o2",
    "idfa:6d92078a-8246-4ba4-ae5b-76104861e7dc",
    "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DD",
    "idfa:6D92078A-8246-4BA4-AE5B-76104861E7DE",
    "idfa:00000000-0000-0000-0000-000000000000",
    "anonymous_id:an1",
    "anonymous_id:an2",
    "anonymous_id:an3",
    "anonymous_id:null",
)


def random_observations(
    rng: random.Random, count: int, pool: Sequence[str] = POOL, width: int = 4
) -> list[Observation]:
    """``count`` observations of 1-``width`` identifiers from ``pool``, an hour apart."""
    observations = []
    for n in range(count):
        picked = rng.sample(list(pool), rng.randint(1, width))
        observations.append(observation(picked, n, channel=rng.choice(["app", "mini", None])))
    return observations


def observation(
    identifiers: Sequence[str], n: int = 0, channel: str | None = None, **extra: Any
) -> Observation:
    return Observation(
        as_raw(identifiers), timestamp=T0 + timedelta(hours=n), channel=channel, **extra
    )


def observation_document(item: Observation) -> dict[str, Any]:
    """The JSON body of ``POST /v1/identify`` for an observation."""
    document: dict[str, Any] = {
        "identifiers": [
            {"kind": i.kind, "value": i.value, **({"scope": i.scope} if i.scope else {})}
            for i in item.identifiers
        ],
        "timestamp": item.timestamp.isoformat(),
    }
    for name in ("message_id", "channel", "event"):
        if getattr(item, name):
            document[name] = getattr(item, name)
    if item.traits:
        document["traits"] = dict(item.traits)
    if item.tags:
        document["tags"] = list(item.tags)
    return document
