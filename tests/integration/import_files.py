"""Channel exports for the import tests, the one-by-one reference, and a comparable
picture of a workspace's stored state.

An export mixes app logins (a login id, a device, sometimes a phone), mini-program
authorisations (an openid of one of two mini-programs, sometimes the unionid), junk and
family-shared devices, and bad rows at known lines: too few columns, a time that is no
time, nothing to identify by, a blocked value only.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from identity.errors import InvalidInput
from identity.identifiers import Identifier
from identity.imports.presets import build_mapping
from identity.imports.spec import MappingSpec
from identity.observation import Observation, RawIdentifier
from identity.services.context import WorkspaceContext
from identity.services.identify import identify
from identity.store.models import (
    IdentifierRow,
    Link,
    Message,
    Person,
    PersonChannel,
    PersonTag,
    PersonTrait,
)
from identity.store.uow import Store
from tests.conftest import SECRET

HEADER = ["ts", "appid", "openid", "unionid", "user_id", "device_type", "device_id", "phone",
          "level", "tags"]  # fmt: skip
MAPPING_ARGS = [
    "--map", "openid=wechat_openid@{appid}", "--map", "unionid=wechat_unionid@open1",
    "--map", "user_id=login_id@app1", "--map", "device_id={device_type}",
    "--kinds", "device_type=ios:idfa,android:oaid", "--map", "phone=phone",
    "--trait", "level=membership_level", "--tag", "tags", "--time", "ts:epoch",
    "--channel", "{appid}",
]  # fmt: skip
MAPPING_FIELDS = {
    "map": ["openid=wechat_openid@{appid}", "unionid=wechat_unionid@open1",
            "user_id=login_id@app1", "device_id={device_type}", "phone=phone"],
    "kinds": ["device_type=ios:idfa,android:oaid"], "trait": ["level=membership_level"],
    "tag": ["tags"], "time": "ts:epoch", "channel": "{appid}",
}  # fmt: skip
MAPPING = build_mapping(None, MappingSpec(
    maps=MAPPING_FIELDS["map"], kinds=MAPPING_FIELDS["kinds"], traits=MAPPING_FIELDS["trait"],
    tags=MAPPING_FIELDS["tag"], time=MAPPING_FIELDS["time"], channel=MAPPING_FIELDS["channel"],
))  # fmt: skip
_KINDS = {"ios": "idfa", "android": "oaid"}
T0 = 1_790_000_000
ZERO_IDFA = "00000000-0000-0000-0000-000000000000"


@dataclass
class Export:
    rows: list[list[str]] = field(default_factory=list)
    #: ``(line, observation)``, ``None`` for a row the reader rejects.
    expected: list[tuple[int, Observation | None]] = field(default_factory=list)

    @property
    def data_rows(self) -> int:
        return len(self.rows)


def databank_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """The environment of a ``databank`` command against the test database."""
    return {"DATABANK_DATABASE_URL": database_url, "DATABANK_SECRET_KEY": SECRET.decode(),
            "DATABANK_VAR_DIR": str(var_dir)}  # fmt: skip


def make_export(rows: int, seed: int = 1, bad_every: int = 97) -> Export:
    rng = random.Random(seed)
    persons = max(rows // 3, 2)
    export = Export()
    for n in range(rows):
        line = n + 2
        if n % bad_every == bad_every - 1:
            export.rows.append(_bad_row(n, n // bad_every))
            export.expected.append((line, None))
            continue
        row = _row(n, rng.randrange(persons), rng)
        export.rows.append(row)
        export.expected.append((line, _observation(row)))
    return export


def _row(n: int, person: int, rng: random.Random) -> list[str]:
    ts = str(T0 + n * 7)
    level, tags = rng.choice(["", "", "gold", "silver"]), rng.choice(["", "tea", "tea|coffee"])
    if rng.random() < 0.5:  # a mini-program authorisation
        appid = rng.choice(["wxA", "wxB"])
        unionid = f"U{person}" if rng.random() < 0.4 else ""
        return [ts, appid, f"o{appid}{person}", unionid, "", "", "", "", level, tags]
    device_type = rng.choice(["ios", "android"])
    device = f"{person % 10_000:08d}-AAAA-BBBB-CCCC-{person + 1:012d}" if device_type == "ios" \
        else f"oaid{person}"  # fmt: skip
    if rng.random() < 0.03:
        device = ZERO_IDFA if device_type == "ios" else "null"
    elif rng.random() < 0.03:
        device = "family-shared-0001" if device_type == "android" else device
    phone = f"138{person:08d}" if rng.random() < 0.3 else ""
    return [ts, "app", "", "", f"u{person}", device_type, device, phone, level, tags]


def _bad_row(n: int, which: int) -> list[str]:
    kind = which % 4
    if kind == 0:
        return [str(T0), "app", "", ""]  # too few columns
    if kind == 1:
        return ["yesterday", "wxA", f"o{n}", "", "", "", "", "", "", ""]
    if kind == 2:
        return [str(T0), "app", "", "", "", "", "", "", "gold", ""]  # no identifier at all
    return [str(T0), "app", "", "", "", "ios", ZERO_IDFA, "", "", ""]  # blocked only


def _observation(row: list[str]) -> Observation | None:
    ts, appid, openid, unionid, user_id, device_type, device, phone, level, tags = row
    raw = []
    columns = ((openid, "wechat_openid", appid), (unionid, "wechat_unionid", "open1"),
               (user_id, "login_id", "app1"), (device, _KINDS.get(device_type, device_type), None),
               (phone, "phone", None))  # fmt: skip
    for value, kind, scope in columns:
        if value:
            raw.append(RawIdentifier(kind, value, scope))
    if not raw:
        return None
    return Observation(
        identifiers=raw,
        timestamp=datetime.fromtimestamp(int(ts), UTC),
        channel=appid,
        traits={"membership_level": level} if level else {},
        tags=[t for t in tags.split("|") if t],
    )


def write_csv(path: Path, export: Export) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(export.rows)
    return path


def write_jsonl(path: Path, export: Export) -> Path:
    """The same export as identify bodies; rows the CSV reader rejects become lines with
    an unknown field, so that the same lines are rejected."""
    with path.open("w", encoding="utf-8") as handle:
        for _, observation in export.expected:
            if observation is None:
                handle.write('{"identifiers": [], "colour": "red"}\n')
                continue
            body: dict[str, Any] = {
                "identifiers": [_identifier_body(r) for r in observation.identifiers],
                "timestamp": observation.timestamp.isoformat(),
                "channel": observation.channel, "traits": dict(observation.traits),
                "tags": list(observation.tags),
            }  # fmt: skip
            handle.write(json.dumps(body) + "\n")
    return path


def _identifier_body(raw: RawIdentifier) -> dict[str, str]:
    body = {"kind": raw.kind, "value": raw.value}
    return {**body, "scope": raw.scope} if raw.scope else body


def identify_one_by_one(
    store: Store, ws: WorkspaceContext, export: Export
) -> tuple[Counter[str], list[int]]:
    """What identifying the rows one by one does: counts by outcome, rejected lines."""
    counts: Counter[str] = Counter()
    rejected = []
    for line, observation in export.expected:
        try:
            if observation is None:
                raise InvalidInput("rejected by the reader")
            counts[identify(store, ws, observation, "test")["outcome"]] += 1
        except InvalidInput:
            counts["rejected"] += 1
            rejected.append(line)
    return counts, rejected


def stored_state(engine: Engine, workspace_id: int) -> dict[str, Any]:
    """Everything a workspace holds, with person ids replaced by the person's identifiers
    (ids are random), so that two runs of the same import compare equal."""
    with engine.connect() as connection:
        members: dict[str, set[Identifier]] = {}
        ids: dict[int, Identifier] = {}
        i = IdentifierRow.__table__.c
        for row in connection.execute(
            select(i.id, i.person_id, i.kind, i.scope, i.value).where(
                i.workspace_id == workspace_id
            )
        ):
            ids[row.id] = Identifier(row.kind, row.scope, row.value)
            members.setdefault(row.person_id, set()).add(ids[row.id])
        person = {pid: frozenset(m) for pid, m in members.items()}
        return {
            "persons": set(person.values()),
            "aliases": _count(connection, Person, workspace_id, Person.merged_into.is_not(None)),
            "activity": {person[p]: a for p, a in connection.execute(
                select(Person.id, Person.activity).where(Person.workspace_id == workspace_id,
                                                         Person.merged_into.is_(None)))},
            "links": _links(connection, workspace_id, ids),
            "traits": {(person[r.person_id], r.name, str(r.value), r.updated_at, r.source)
                       for r in connection.execute(select(PersonTrait).where(
                           PersonTrait.workspace_id == workspace_id))},
            "tags": {(person[r.person_id], r.tag, r.count, r.first_seen, r.last_seen)
                     for r in connection.execute(select(PersonTag).where(
                         PersonTag.workspace_id == workspace_id))},
            "channels": {(person[r.person_id], r.channel, r.count, r.first_seen, r.last_seen)
                         for r in connection.execute(select(PersonChannel).where(
                             PersonChannel.workspace_id == workspace_id))},
            "messages": _count(connection, Message, workspace_id),
        }  # fmt: skip


def _links(connection: Any, workspace_id: int, ids: dict[int, Identifier]) -> set[tuple[Any, ...]]:
    link = aliased(Link)
    rows = connection.execute(select(link).where(link.workspace_id == workspace_id))
    return {(ids[r.source_id], ids[r.target_id], r.count, r.first_seen, r.last_seen,
             tuple(r.channels), r.first_message_id) for r in rows}  # fmt: skip


def _count(connection: Any, model: Any, workspace_id: int, *where: Any) -> int:
    from sqlalchemy import func

    return int(connection.execute(
        select(func.count()).select_from(model).where(model.workspace_id == workspace_id, *where)
    ).scalar_one())  # fmt: skip
