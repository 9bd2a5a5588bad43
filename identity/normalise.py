"""Normalisers: turn a raw value of a kind into its canonical form, or say why not.

Each normaliser takes the raw string and returns the canonical string, or raises
``ValueError`` with a reason that never repeats the raw value.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable

import phonenumbers

__all__ = ["NORMALISERS", "KeyedHasher", "normaliser"]

Normaliser = Callable[[str], str]

_UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
_ALIPAY_USER_ID = re.compile(r"^2088\d{12}$")


class KeyedHasher:
    """HMAC-SHA256 with the deployment's secret: personal data is stored only this way.

    >>> KeyedHasher(b"k" * 16).hash("+8613800138000")[:12]
    '95b75ddcf049'
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the keyed-hash secret must be at least 16 bytes")
        self._secret = secret

    def hash(self, canonical: str) -> str:
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()


def as_given(raw: str) -> str:
    return raw


def trimmed(raw: str) -> str:
    return raw.strip()


def lower(raw: str) -> str:
    return raw.strip().lower()


def upper_uuid(raw: str) -> str:
    value = raw.strip().upper()
    if not _UUID.match(value):
        raise ValueError("not a UUID")
    return value


def alipay_user_id(raw: str) -> str:
    value = raw.strip()
    if not _ALIPAY_USER_ID.match(value):
        raise ValueError("not 16 digits starting 2088")
    return value


def email(raw: str) -> str:
    value = raw.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain or " " in value:
        raise ValueError("not an email address (needs exactly one @)")
    return value


def phone_for_region(region: str) -> Normaliser:
    """A normaliser to E.164 that reads national numbers as of ``region``.

    >>> phone_for_region("CN")("+86 138 0013 8000")
    '+8613800138000'
    """

    def phone(raw: str) -> str:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            raise ValueError("not a phone number") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    return phone


NORMALISERS: dict[str, Normaliser] = {
    "as_given": as_given,
    "trim": trimmed,
    "lower": lower,
    "upper_uuid": upper_uuid,
    "alipay_user_id": alipay_user_id,
    "email": email,
    "phone": phone_for_region("CN"),
}


def normaliser(name: str, phone_region: str = "CN") -> Normaliser:
    """The normaliser called ``name``; ``phone`` honours the workspace's region."""
    if name == "phone" and phone_region != "CN":
        return phone_for_region(phone_region)
    return NORMALISERS[name]
