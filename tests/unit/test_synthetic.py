"""The synthetic channel-export generator: seeded, exact in size, realistic in shape."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest

from identity.observation import RawIdentifier, screen
from identity.policy import default_policy
from identity.synthetic import (
    CHANNELS,
    COLUMNS,
    END,
    EXPORTS,
    export_rows,
    identify_body,
    write_csv,
    write_jsonl,
)
from tests.oracle import HASHER

POLICY = default_policy()
ROWS = list(export_rows(20_000, seed=11))


def screened(kind: str, row: tuple[str, ...]):  # type: ignore[no-untyped-def]
    body = identify_body(kind, row)
    raw = [RawIdentifier(i["kind"], i["value"], i.get("scope")) for i in body["identifiers"]]
    return screen(raw, POLICY, HASHER)


def test_the_same_seed_gives_the_same_rows_and_another_seed_others():
    assert list(export_rows(2_000, seed=11)) == list(export_rows(2_000, seed=11))
    assert list(export_rows(2_000, seed=11)) != list(export_rows(2_000, seed=12))


@pytest.mark.parametrize("rows", [1, 999, 20_001])
def test_exactly_the_rows_asked_for_come_out_of_the_exports_asked_for(rows):
    out = list(export_rows(rows, seed=3, kinds=["app_login", "crm_members"]))

    assert len(out) == rows
    assert {kind for kind, _ in out} <= {"app_login", "crm_members"}
    assert all(len(row) == len(COLUMNS[kind]) for kind, row in out)


def test_every_export_appears_and_app_logins_are_the_bulk():
    counts = Counter(kind for kind, _ in ROWS)

    assert set(counts) == set(EXPORTS)
    assert counts.most_common(1)[0][0] == "app_login"


def test_about_half_a_percent_of_device_ids_are_junk_and_all_else_is_valid():
    with_device = [(k, r) for k, r in ROWS if "device_id" in COLUMNS[k]]
    junk = 0
    for kind, row in ROWS:
        result = screened(kind, row)
        assert result.rejected == [], (kind, row)
        junk += len(result.ignored)

    assert 0.002 < junk / len(with_device) < 0.01


def test_some_devices_are_shared_by_a_family_of_logins():
    logins = defaultdict(set)
    for kind, row in ROWS:
        if kind == "app_login":
            values = dict(zip(COLUMNS[kind], row, strict=True))
            logins[values["device_id"]].add(values["user_id"])
    shared = [d for d, ids in logins.items() if len(ids) > 1 and d not in ("null", "unknown")]

    assert len(shared) > 10
    assert max(len(logins[d]) for d in shared if not d.startswith("0000")) <= 4


def test_timestamps_lie_in_the_60_days_before_the_end_and_a_person_keeps_to_a_few_hours():
    hours = defaultdict(Counter)
    for kind, row in ROWS:
        when = datetime.fromisoformat(row[0])
        assert END - timedelta(days=61) <= when <= END + timedelta(days=1)
        if kind == "app_login":
            hours[row[2]][when.hour] += 1
    busy = [h for h in hours.values() if h.total() >= 10]

    assert busy
    shares = [sum(n for _, n in h.most_common(6)) / h.total() for h in busy]
    assert sorted(shares)[len(shares) // 2] > 0.75


def test_crm_rows_carry_typed_traits_and_content_rows_carry_tags():
    bodies = [identify_body(kind, row) for kind, row in ROWS]
    crm = [b for b in bodies if b["channel"] == "crm"]

    assert all(isinstance(b["traits"]["points"], int) for b in crm)
    assert {b["traits"]["membership_level"] for b in crm} == {"silver", "gold", "platinum"}
    assert any("air_purifier" in b.get("tags", ()) for b in bodies)


def test_csv_files_have_their_header_and_jsonl_the_same_rows_as_bodies(tmp_path):
    paths = write_csv(tmp_path, 3_000, seed=5)
    jsonl = write_jsonl(tmp_path / "all.jsonl", 3_000, seed=5)

    total = 0
    for kind, path in paths.items():
        with path.open(newline="") as f:
            lines = list(csv.reader(f))
        assert tuple(lines[0]) == COLUMNS[kind]
        total += len(lines) - 1
    bodies = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert total == len(bodies) == 3_000
    assert Counter(b["channel"] for b in bodies) == Counter(
        CHANNELS[kind] for kind, _ in export_rows(3_000, seed=5)
    )
    assert len({b["message_id"] for b in bodies}) == 3_000
