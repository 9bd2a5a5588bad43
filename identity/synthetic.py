"""Synthetic channel exports: realistic, seeded and streamed.

A brand's customers as its channels see them. Each synthetic person may have an app
login with 1-3 devices (IDFA, OAID or Android id), openids in several WeChat and Alipay
mini-programs, a WeChat unionid, a phone, a CRM member id, traits (membership and
consumption level, points), interest tags and the hours of the day they are active.
About 0.5 % of device ids are junk (the zero IDFA, ``null``, ``unknown``) and some
devices are shared by a family of logins.

Their observations come out as rows of the channel exports a brand would hold
(:data:`COLUMNS`): the app login log, SMS logins, WeChat logins in the app, the
authorisation exports of the mini-programs and the CRM member list. Persons are made in
blocks; a block's rows are sorted by time, so rows of different persons interleave as in
a real log while memory stays bounded by the block, never by the file.

>>> rows = list(export_rows(5, seed=1))
>>> len(rows), rows[0][0] in COLUMNS
(5, True)
>>> rows == list(export_rows(5, seed=1))
True
"""

from __future__ import annotations

import csv
import json
import random
import string
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "CHANNELS",
    "COLUMNS",
    "EXPORTS",
    "IDENTIFIERS",
    "TAG_COLUMNS",
    "TRAITS",
    "export_rows",
    "identify_body",
    "write_csv",
    "write_jsonl",
]

#: The column layout of each export, in file order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "app_login": ("login_time", "app_id", "user_id", "device_type", "device_id", "app_version",
                  "tags"),
    "sms_login": ("login_time", "app_id", "phone", "device_type", "device_id"),
    "wechat_login": ("login_time", "app_id", "user_id", "unionid", "platform"),
    "wechat_mp": ("auth_time", "appid", "openid", "unionid", "platform", "phone", "tags"),
    "alipay_mp": ("auth_time", "appid", "openid", "user_id", "phone"),
    "crm_members": ("registered_at", "member_id", "phone", "level", "consumption_level",
                    "points", "interests"),
}  # fmt: skip
EXPORTS = tuple(COLUMNS)
#: The channel each export is imported as.
CHANNELS = {"app_login": "app", "sms_login": "app", "wechat_login": "app",
            "wechat_mp": "wechat_mp", "alipay_mp": "alipay_mp", "crm_members": "crm"}  # fmt: skip
#: Which column is which identifier, in the mapping notation of imports
#: (``column=kind[@scope]``, ``{column}`` takes the kind or scope from another column).
IDENTIFIERS: dict[str, dict[str, str]] = {
    "app_login": {"user_id": "login_id@{app_id}", "device_id": "{device_type}"},
    "sms_login": {"phone": "phone", "device_id": "{device_type}"},
    "wechat_login": {"user_id": "login_id@{app_id}", "unionid": "wechat_unionid@{platform}"},
    "wechat_mp": {"openid": "wechat_openid@{appid}", "unionid": "wechat_unionid@{platform}",
                  "phone": "phone"},
    "alipay_mp": {"openid": "alipay_openid@{appid}", "user_id": "alipay_user_id",
                  "phone": "phone"},
    "crm_members": {"member_id": "member_id", "phone": "phone"},
}  # fmt: skip
#: Trait columns of the exports that carry traits; ``points`` is a whole number.
TRAITS = {"crm_members": {"level": "membership_level", "consumption_level": "consumption_level",
                          "points": "points"}}  # fmt: skip
#: Tag columns (tags separated by ``|``).
TAG_COLUMNS = {"app_login": "tags", "wechat_mp": "tags", "crm_members": "interests"}
APP = "brand_app"  # the app id of the app's login ids
OPEN_PLATFORM = "wx_open_brand"  # the WeChat open-platform account of the unionids
WECHAT_APPS = ("wx8a1f3c5e7b9d2e40", "wx3c9e1b7d5f2a4c68", "wx5e7a9c1b3d8f0e26")
ALIPAY_APPS = ("2021004123456789", "2021004198765432")
TAGS = ("air_purifier", "skincare", "coffee", "tea", "running", "baby", "pets", "travel",
        "fitness", "cooking", "books", "camping", "fashion", "phones", "wine")  # fmt: skip
TAG_WEIGHTS = [1 / (rank + 1) for rank in range(len(TAGS))]  # a few tags are common
JUNK_DEVICES = (("idfa", "00000000-0000-0000-0000-000000000000"), ("oaid", "null"),
                ("android_id", "unknown"))  # fmt: skip
PHONE_PREFIXES = ("133", "135", "136", "138", "139", "150", "151", "158", "186", "188", "189")
EVENTS = {"app_login": "login", "sms_login": "sms_login", "wechat_login": "wechat_login",
          "wechat_mp": "authorise", "alipay_mp": "authorise",
          "crm_members": "member"}  # fmt: skip
#: The last day of activity of the default 60-day window.
END = datetime(2026, 12, 1, tzinfo=UTC)
DAYS = 60
SHANGHAI = timezone(timedelta(hours=8))
_ALNUM = string.ascii_letters + string.digits + "-_"


@dataclass(slots=True)
class _Person:
    index: int
    peaks: tuple[int, ...]
    sessions: int
    login_id: str | None = None
    devices: list[tuple[str, str]] = field(default_factory=list)
    phone: str | None = None
    unionid: str | None = None
    wechat: dict[str, str] = field(default_factory=dict)
    alipay: dict[str, str] = field(default_factory=dict)
    alipay_user_id: str | None = None
    member_id: str | None = None
    tags: tuple[str, ...] = ()


class _Maker:
    """Persons and their rows from one seeded random stream."""

    def __init__(self, seed: int, end: datetime) -> None:
        self.rng = random.Random(seed)
        first_day = end.astimezone(SHANGHAI) - timedelta(days=DAYS)
        self.start = first_day.replace(hour=0, minute=0, second=0, microsecond=0)
        self.family: list[list[Any]] = []  # [device, logins still to share it]

    def person(self, index: int) -> _Person:
        r = self.rng
        peaks = tuple(r.choice((8, 9, 12, 13, 18, 20, 21, 22)) for _ in range(r.randint(1, 2)))
        person = _Person(index, peaks, 1 + int(r.expovariate(1 / 9)))
        if r.random() < 0.85:
            person.login_id = f"u{index + 1:08d}"
            person.devices = [self.device() for _ in range(r.choice((1, 1, 1, 2, 2, 3)))]
        if r.random() < 0.3:
            person.member_id = f"M{index + 1:09d}"
        if r.random() < (0.9 if person.member_id else 0.5):
            person.phone = r.choice(PHONE_PREFIXES) + f"{r.randrange(10**8):08d}"
        if r.random() < 0.6:
            apps = r.sample(WECHAT_APPS, r.choice((1, 1, 2, 3)))
            person.wechat = {app: "o" + self.text(27) for app in apps}
        if r.random() < 0.75 and (person.wechat or person.login_id):
            person.unionid = "oU" + self.text(26)
        if r.random() < 0.25:
            apps = r.sample(ALIPAY_APPS, r.choice((1, 1, 2)))
            person.alipay = {app: "0" + self.text(31) for app in apps}
            person.alipay_user_id = f"2088{r.randrange(10**12):012d}"
        person.tags = tuple(set(r.choices(TAGS, TAG_WEIGHTS, k=r.choice((0, 1, 2, 3, 4)))))
        return person

    def device(self) -> tuple[str, str]:
        r = self.rng
        if self.family and r.random() < 0.25:  # a family member on a shared device
            shared = self.family[-1]
            shared[1] -= 1
            if shared[1] == 0:
                self.family.pop()
            device: tuple[str, str] = shared[0]
            return device
        kind = r.choice(("idfa", "idfa", "oaid", "oaid", "android_id"))
        if kind == "android_id":
            device = (kind, f"{r.getrandbits(64):016x}")
        else:
            text = str(uuid.UUID(int=r.getrandbits(128), version=4))
            device = (kind, text.upper() if kind == "idfa" else text)
        if r.random() < 0.03:
            self.family.append([device, r.randint(1, 3)])
        return device

    def text(self, size: int) -> str:
        return "".join(self.rng.choices(_ALNUM, k=size))

    def when(self, person: _Person) -> str:
        r = self.rng
        hour = round(r.choice(person.peaks) + r.gauss(0, 1.2)) % 24
        day = self.start + timedelta(days=r.randrange(DAYS), hours=hour, seconds=r.randrange(3600))
        return day.isoformat()

    def rows(self, person: _Person, kinds: Collection[str]) -> list[tuple[str, tuple[str, ...]]]:
        choices = self._choices(person, kinds)
        out: list[tuple[str, tuple[str, ...]]] = []
        if choices:
            names, weights = zip(*choices, strict=True)
            for kind in self.rng.choices(names, weights, k=person.sessions):
                out.append((kind, getattr(self, kind)(person)))
        if person.member_id and "crm_members" in kinds:
            out.append(("crm_members", self.crm_members(person)))
        return out

    @staticmethod
    def _choices(person: _Person, kinds: Collection[str]) -> list[tuple[str, float]]:
        weights = {"app_login": 6.0 if person.login_id else 0,
                   "sms_login": 1.0 if person.login_id and person.phone else 0,
                   "wechat_login": 2.0 if person.login_id and person.unionid else 0,
                   "wechat_mp": 3.0 if person.wechat else 0,
                   "alipay_mp": 1.5 if person.alipay else 0}  # fmt: skip
        return [(kind, w) for kind, w in weights.items() if w and kind in kinds]

    def a_device(self, person: _Person) -> tuple[str, str]:
        if self.rng.random() < 0.005:
            return self.rng.choice(JUNK_DEVICES)
        return self.rng.choice(person.devices)

    def some_tags(self, person: _Person) -> str:
        if not person.tags or self.rng.random() < 0.6:
            return ""
        return "|".join(self.rng.sample(person.tags, self.rng.randint(1, len(person.tags))))

    def some_phone(self, person: _Person, share: float = 0.4) -> str:
        """The phone a mini-program was allowed to read, or a member registered with."""
        if not person.phone or self.rng.random() >= share:
            return ""
        return _phone_text(person.phone, self.rng)

    def app_login(self, p: _Person) -> tuple[str, ...]:
        kind, device = self.a_device(p)
        version = self.rng.choice(("5.2.1", "5.3.0", "5.3.2"))
        return (self.when(p), APP, p.login_id or "", kind, device, version, self.some_tags(p))

    def sms_login(self, p: _Person) -> tuple[str, ...]:
        kind, device = self.a_device(p)
        return (self.when(p), APP, _phone_text(p.phone or "", self.rng), kind, device)

    def wechat_login(self, p: _Person) -> tuple[str, ...]:
        return (self.when(p), APP, p.login_id or "", p.unionid or "", OPEN_PLATFORM)

    def wechat_mp(self, p: _Person) -> tuple[str, ...]:
        app = self.rng.choice(sorted(p.wechat))
        unionid = p.unionid if p.unionid and self.rng.random() < 0.9 else ""
        phone, tags = self.some_phone(p), self.some_tags(p)
        return (self.when(p), app, p.wechat[app], unionid, OPEN_PLATFORM, phone, tags)

    def alipay_mp(self, p: _Person) -> tuple[str, ...]:
        app = self.rng.choice(sorted(p.alipay))
        return (self.when(p), app, p.alipay[app], p.alipay_user_id or "", self.some_phone(p))

    def crm_members(self, p: _Person) -> tuple[str, ...]:
        r = self.rng
        level = r.choices(("silver", "gold", "platinum"), (6, 3, 1))[0]
        spend = r.choices(("low", "mid", "high"), (5, 3, 2))[0]
        return (self.when(p), p.member_id or "", self.some_phone(p, 1.0), level, spend,
                str(r.randrange(20_000)), "|".join(p.tags))  # fmt: skip


def _phone_text(phone: str, rng: random.Random) -> str:
    """The same number as exports write it: bare, E.164 or spaced."""
    shape = rng.randrange(3)
    if shape == 0:
        return phone
    if shape == 1:
        return "+86" + phone
    return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"


def export_rows(
    rows: int,
    seed: int = 7,
    kinds: Collection[str] = EXPORTS,
    end: datetime = END,
    block: int = 20_000,
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Exactly ``rows`` rows of the exports named in ``kinds``, as ``(export, row)``.

    The same arguments give the same rows. Persons are made ``block`` at a time and each
    block's rows come out in time order.
    """
    unknown = set(kinds) - set(EXPORTS)
    if unknown or not kinds:
        raise ValueError(f"exports are some of {', '.join(EXPORTS)}; got {sorted(unknown)}")
    maker, persons, left = _Maker(seed, end), 0, rows
    per_person = 15.0  # a high first guess: a block cut short loses the end of its window
    while left > 0:
        size = max(1, min(block, int(left / per_person)))
        batch: list[tuple[str, tuple[str, ...]]] = []
        for index in range(persons, persons + size):
            batch.extend(maker.rows(maker.person(index), kinds))
        persons += size
        per_person = max(1.0, (rows - left + len(batch)) / persons)
        batch.sort(key=lambda item: item[1][0])
        yield from batch[:left]
        left -= len(batch)


def write_csv(out_dir: Path, rows: int, seed: int = 7, **options: Any) -> dict[str, Path]:
    """Write one CSV file per export (``<export>.csv`` with a header row) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = options.get("kinds", EXPORTS)
    paths = {kind: out_dir / f"{kind}.csv" for kind in kinds}
    files = {kind: path.open("w", newline="", encoding="utf-8") for kind, path in paths.items()}
    try:
        writers = {kind: csv.writer(f) for kind, f in files.items()}
        for kind, writer in writers.items():
            writer.writerow(COLUMNS[kind])
        for kind, row in export_rows(rows, seed, **options):
            writers[kind].writerow(row)
    finally:
        for f in files.values():
            f.close()
    return paths


def write_jsonl(path: Path, rows: int, seed: int = 7, **options: Any) -> Path:
    """Write the rows as one mixed JSON Lines file of ``POST /v1/identify`` bodies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for n, (kind, row) in enumerate(export_rows(rows, seed, **options)):
            body = identify_body(kind, row, message_id=f"syn-{seed}-{n}")
            f.write(json.dumps(body, separators=(",", ":")) + "\n")
    return path


def identify_body(kind: str, row: tuple[str, ...], message_id: str | None = None) -> dict[str, Any]:
    """The ``POST /v1/identify`` body of one export row."""
    values = dict(zip(COLUMNS[kind], row, strict=True))
    body: dict[str, Any] = {"identifiers": _identifiers(kind, values)}
    if message_id:
        body["message_id"] = message_id
    body.update(timestamp=row[0], channel=CHANNELS[kind], event=EVENTS[kind])
    traits = {name: values[column] for column, name in TRAITS.get(kind, {}).items()}
    if traits:
        body["traits"] = traits | ({"points": int(traits["points"])} if "points" in traits else {})
    if values.get(TAG_COLUMNS.get(kind, "")):
        body["tags"] = values[TAG_COLUMNS[kind]].split("|")
    return body


def _identifiers(kind: str, values: dict[str, str]) -> list[dict[str, str]]:
    out = []
    for column, target in IDENTIFIERS[kind].items():
        if values.get(column):
            name, _, scope = target.format_map(values).partition("@")
            out.append(
                {"kind": name, "value": values[column]} | ({"scope": scope} if scope else {})
            )
    return out
