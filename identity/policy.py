"""The per-workspace policy: identifier kinds, blocked values, trait rules, time zone.

A policy document is validated as a whole: every problem is collected and reported at
once in one ``PolicyInvalid``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers

from identity.errors import PolicyInvalid
from identity.normalise import NORMALISERS, Normaliser, normaliser

__all__ = [
    "DEFAULT_BLOCKED_PATTERNS",
    "DEFAULT_BLOCKED_VALUES",
    "KindRule",
    "Policy",
    "TraitRule",
    "default_policy",
]

SCOPES = ("none", "app", "platform")
TRAIT_MERGES = ("latest", "first", "max", "sum")
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

DEFAULT_BLOCKED_VALUES = (
    "-1", "null", "none", "nil", "undefined", "unknown", "anonymous", "guest", "test",
    "nan", "true", "false", "[object object]", "", "9774d56d682e549c",
)  # fmt: skip
DEFAULT_BLOCKED_PATTERNS = (r"^[0-]*$",)

#  name: (scope, limit, priority, normaliser, personal)
_DEFAULT_KINDS: dict[str, tuple[str, int, int, str, bool]] = {
    "login_id": ("app", 1, 10, "trim", False),
    "member_id": ("none", 1, 20, "trim", False),
    "phone": ("none", 1, 30, "phone", True),
    "email": ("none", 3, 40, "email", True),
    "wechat_unionid": ("platform", 1, 50, "as_given", False),
    "douyin_unionid": ("platform", 1, 50, "as_given", False),
    "alipay_user_id": ("none", 1, 55, "alipay_user_id", False),
    "wechat_openid": ("app", 1, 60, "as_given", False),
    "alipay_openid": ("app", 1, 60, "as_given", False),
    "douyin_openid": ("app", 1, 60, "as_given", False),
    "idfa": ("none", 5, 80, "upper_uuid", False),
    "idfv": ("none", 5, 80, "upper_uuid", False),
    "oaid": ("none", 5, 80, "lower", False),
    "android_id": ("none", 5, 80, "lower", False),
    "gaid": ("none", 5, 80, "lower", False),
    "anonymous_id": ("none", 10, 90, "as_given", False),
}
_DEFAULT_TRAITS = {"membership_level": "latest", "consumption_level": "latest"}


@dataclass(frozen=True)
class KindRule:
    """How one identifier kind is scoped, normalised, limited and ranked."""

    name: str
    scope: str = "none"
    limit: int = 1
    priority: int = 100
    normalise: str = "as_given"
    personal: bool = False

    @property
    def scoped(self) -> bool:
        return self.scope != "none"

    def as_document(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "limit": self.limit,
            "priority": self.priority,
            "normalise": self.normalise,
            "personal": self.personal,
        }


@dataclass(frozen=True)
class TraitRule:
    name: str
    merge: str = "latest"


@dataclass(frozen=True)
class Policy:
    """A validated workspace policy. Build one with :func:`Policy.from_document`."""

    kinds: Mapping[str, KindRule]
    blocked_values: frozenset[str] = frozenset(DEFAULT_BLOCKED_VALUES)
    blocked_patterns: tuple[str, ...] = DEFAULT_BLOCKED_PATTERNS
    traits: Mapping[str, TraitRule] = field(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    phone_region: str = "CN"

    def __post_init__(self) -> None:
        compiled = tuple(re.compile(p) for p in self.blocked_patterns)
        object.__setattr__(self, "_patterns", compiled)
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        normalisers = {
            name: normaliser(rule.normalise, self.phone_region) for name, rule in self.kinds.items()
        }
        object.__setattr__(self, "_normalisers", normalisers)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone  # type: ignore[attr-defined,no-any-return]

    def normaliser_for(self, kind: str) -> Normaliser:
        return self._normalisers[kind]  # type: ignore[attr-defined,no-any-return]

    def is_blocked(self, value: str) -> bool:
        """Whether a (trimmed) value is junk that must never link anything.

        >>> p = default_policy()
        >>> [p.is_blocked(v) for v in ("NULL", "'null'", "0000-00", "abc")]
        [True, True, True, False]
        """
        bare = value.strip()
        if len(bare) >= 2 and bare[0] == bare[-1] and bare[0] in "\"'":
            bare = bare[1:-1].strip()
        if bare.lower() in self.blocked_values:
            return True
        return any(p.search(bare) for p in self._patterns)  # type: ignore[attr-defined]

    def trait_merge(self, name: str) -> str:
        rule = self.traits.get(name)
        return rule.merge if rule else "latest"

    def as_document(self) -> dict[str, Any]:
        return {
            "kinds": {name: rule.as_document() for name, rule in sorted(self.kinds.items())},
            "blocked_values": sorted(self.blocked_values),
            "blocked_patterns": list(self.blocked_patterns),
            "traits": {name: {"merge": r.merge} for name, r in sorted(self.traits.items())},
            "timezone": self.timezone,
            "phone_region": self.phone_region,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Policy:
        """Validate a whole policy document. Kinds and traits are merged by name over the
        defaults; blocked values and patterns are added to the defaults, which always apply.

        >>> Policy.from_document({"kinds": {"crm_id": {"limit": 1, "priority": 15}}}).kinds[
        ...     "crm_id"].priority
        15
        >>> Policy.from_document({"kinds": {"x": {"limit": 0}}, "timezone": "Mars/Base"})
        Traceback (most recent call last):
        ...
        identity.errors.PolicyInvalid: the policy has 2 problems
        """
        return _PolicyReader(document).read()


def default_policy() -> Policy:
    """The default policy of SPEC section 2."""
    return _DEFAULT


class _PolicyReader:
    """Reads a policy document, collecting every problem before raising once."""

    _SECTIONS = ("kinds", "blocked_values", "blocked_patterns", "traits", "timezone",
                 "phone_region")  # fmt: skip

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.errors: dict[str, str] = {}

    def read(self) -> Policy:
        if not isinstance(self.document, Mapping):
            raise PolicyInvalid("the policy must be an object", {"": "not an object"})
        for key in self.document:
            if key not in self._SECTIONS:
                self.errors[str(key)] = "unknown field"
        kinds = self._kinds()
        blocked_values = self._blocked_values()
        patterns = self._patterns()
        traits = self._traits()
        timezone = self._choice("timezone", "Asia/Shanghai", _timezones())
        region = self._choice("phone_region", "CN", phonenumbers.SUPPORTED_REGIONS)
        if self.errors:
            count = len(self.errors)
            noun = "problem" if count == 1 else "problems"
            raise PolicyInvalid(f"the policy has {count} {noun}", self.errors)
        return Policy(kinds, blocked_values, patterns, traits, timezone, region)

    def _kinds(self) -> dict[str, KindRule]:
        """The default kinds with the given ones merged over them, field by field."""
        kinds = dict(_DEFAULT.kinds)
        given = self.document.get("kinds", {})
        if not isinstance(given, Mapping):
            self.errors["kinds"] = "must be an object of kind name to rule"
            return kinds
        for name, body in given.items():
            rule = self._kind(str(name), body)
            if rule is not None:
                kinds[rule.name] = rule
        return kinds

    def _kind(self, name: str, body: Any) -> KindRule | None:
        where = f"kinds.{name}"
        if not _KIND_NAME.match(name):
            self.errors[where] = "kind names are lower-case letters, digits and _"
        if not isinstance(body, Mapping):
            self.errors[where] = "must be an object"
            return None
        base = _DEFAULT.kinds.get(name, KindRule(name))
        fields = {**base.as_document(), **body}
        for key in body:
            if key not in base.as_document():
                self.errors[f"{where}.{key}"] = "unknown field"
        checks = (
            ("scope", fields["scope"] in SCOPES, f"one of {', '.join(SCOPES)}"),
            ("limit", _int_between(fields["limit"], 1, 10_000), "a whole number 1-10000"),
            ("priority", _int_between(fields["priority"], 0, 1000), "a whole number 0-1000"),
            ("normalise", fields["normalise"] in NORMALISERS,
             f"one of {', '.join(sorted(NORMALISERS))}"),
            ("personal", isinstance(fields["personal"], bool), "true or false"),
        )  # fmt: skip
        failed = False
        for key, ok, expected in checks:
            if not ok:
                self.errors[f"{where}.{key}"] = f"must be {expected}"
                failed = True
        return None if failed else KindRule(name, **{k: fields[k] for k, _, _ in checks})

    def _strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        given = self.document.get(key)
        if given is None:
            return default
        if not isinstance(given, list) or not all(isinstance(v, str) for v in given):
            self.errors[key] = "must be a list of strings"
            return ()
        return tuple(given)

    def _blocked_values(self) -> frozenset[str]:
        values = DEFAULT_BLOCKED_VALUES + self._strings("blocked_values", ())
        return frozenset(v.strip().lower() for v in values)

    def _patterns(self) -> tuple[str, ...]:
        given = self._strings("blocked_patterns", ())
        patterns = DEFAULT_BLOCKED_PATTERNS + tuple(
            p for p in given if p not in DEFAULT_BLOCKED_PATTERNS
        )
        for i, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.errors[f"blocked_patterns.{i}"] = f"not a regular expression: {exc}"
        return patterns

    def _traits(self) -> dict[str, TraitRule]:
        rules = dict(_DEFAULT.traits)
        given = self.document.get("traits", {})
        if not isinstance(given, Mapping):
            self.errors["traits"] = "must be an object of trait name to rule"
            return rules
        for name, body in given.items():
            merge = body.get("merge", "latest") if isinstance(body, Mapping) else None
            extra = set(body) - {"merge"} if isinstance(body, Mapping) else set()
            if merge not in TRAIT_MERGES or extra:
                self.errors[f"traits.{name}"] = (
                    f'must be {{"merge": one of {", ".join(TRAIT_MERGES)}}}'
                )
                continue
            rules[str(name)] = TraitRule(str(name), merge)
        return rules

    def _choice(self, key: str, default: str, allowed: Any) -> str:
        value = self.document.get(key, default)
        if value not in allowed:
            self.errors[key] = f"unknown {key.replace('_', ' ')}"
            return default
        return str(value)


def _int_between(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


_TIMEZONES: set[str] = set()


def _timezones() -> set[str]:
    if not _TIMEZONES:
        _TIMEZONES.update(available_timezones())
    return _TIMEZONES


_DEFAULT = Policy(
    kinds={
        name: KindRule(name, scope, limit, priority, norm, personal)
        for name, (scope, limit, priority, norm, personal) in _DEFAULT_KINDS.items()
    },
    traits={name: TraitRule(name, merge) for name, merge in _DEFAULT_TRAITS.items()},
)
