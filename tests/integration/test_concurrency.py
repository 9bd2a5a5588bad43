"""Many threads against a real gunicorn server, then the invariant checker.

A server with several worker processes is started on a free loopback port over a
migrated database (SQLite file, PostgreSQL test database). Threads send overlapping
observations to two workspaces at once:

- ``clean``: each simulated user has one value per identifier kind, so no limit can be
  hit and the final persons do not depend on the order of the requests: they must be
  exactly the connected components of what was observed;
- ``contested``: small shared pools (junk devices, reused phones, two logins per phone)
  so that requests create, match, merge and demote concurrently. The persons must be
  those of some serial order: every invariant holds, each answer's person (through its
  aliases) still owns every identifier it kept, and on SQLite, whose writers are serial,
  replaying the observations in commit order through the reference gives exactly the
  stored persons.

Bounded in requests and in time; it prints its figures (``pytest -s`` shows them).
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import requests
from sqlalchemy import select

from identity.identifiers import Identifier
from identity.normalise import KeyedHasher
from identity.observation import RawIdentifier, screen
from identity.reference import InMemoryIdentityGraph
from identity.services.workspaces import Workspaces
from identity.store.database import create_store_engine
from identity.store.models import IdentifierRow, Message, Person
from identity.store.uow import Store
from tests.invariants import assert_invariants, stored_partition
from tests.oracle import SECRET, as_raw

ROOT = Path(__file__).resolve().parents[2]
THREADS = 12
REQUESTS_PER_THREAD = 20
TIME_LIMIT = 60.0  # seconds for the whole hammering; the test stops itself after it
WORKERS, WORKER_THREADS = 3, 4

pytestmark = pytest.mark.slow

GUNICORN_CONFIG = """
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False,
                           "qualname": "gunicorn.error"},
        "identity": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "api": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
    },
}
"""


@dataclass
class Server:
    url: str
    keys: dict[str, str]
    log: Path
    workspaces: dict[str, int]


@dataclass
class Sent:
    workspace: str
    body: dict[str, Any]
    answer: dict[str, Any] | None = None
    status: int | None = None
    retries: int = 0


@dataclass
class Figures:
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    engine = create_store_engine(database_url)
    workspaces = Workspaces(Store(engine), KeyedHasher(SECRET))
    ids = {name: workspaces.create(name) for name in ("clean", "contested")}
    keys = {name: workspaces.create_key(name, ["ingest", "read"]) for name in ids}
    engine.dispose()
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(GUNICORN_CONFIG)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABANK_DATABASE_URL": database_url,
        "DATABANK_SECRET_KEY": SECRET.decode(),
        "DATABANK_VAR_DIR": str(tmp_path / "var"),
    }
    log = tmp_path / "server.log"
    command = [
        sys.executable, "-m", "gunicorn", "--config", str(config), "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS), "--threads", str(WORKER_THREADS), "--worker-class", "gthread",
        "--graceful-timeout", "5", "--timeout", "60", "wsgi:app",
    ]  # fmt: skip
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, process, log)
        yield Server(url, keys, log, ids)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still booting
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not become ready:\n{log.read_text()}")


# -- the workload ------------------------------------------------------------------------
def clean_user(n: int) -> list[str]:
    return [
        f"login_id@app:user{n}",
        f"member_id:M{n}",
        f"phone:1380013{n:04d}",
        f"email:user{n}@example.com",
        f"wechat_unionid@open1:un{n}",
        f"wechat_openid@wxA:oa{n}",
        f"wechat_openid@wxB:ob{n}",
        f"idfa:6D92078A-8246-4BA4-AE5B-{n:012d}",
        f"anonymous_id:anon{n}",
    ]


CONTESTED_POOL = [
    *(f"login_id@app:L{n}" for n in range(6)),
    *(f"member_id:M{n}" for n in range(3)),
    *(f"phone:1390013{n:04d}" for n in range(3)),
    *(f"email:shared{n}@example.com" for n in range(3)),
    *(f"wechat_openid@wxA:o{n}" for n in range(4)),
    *(f"wechat_unionid@open1:u{n}" for n in range(2)),
    *(f"idfa:6D92078A-8246-4BA4-AE5B-{n:012d}" for n in range(3)),  # shared devices
    "idfa:00000000-0000-0000-0000-000000000000",  # junk
    *(f"anonymous_id:a{n}" for n in range(6)),
]


def workload(rng: random.Random, count: int) -> list[Sent]:
    sent: list[Sent] = []
    for n in range(count):
        if sent and rng.random() < 0.05:  # a retried delivery of an earlier message
            earlier = rng.choice(sent)
            sent.append(Sent(earlier.workspace, earlier.body))
            continue
        if rng.random() < 0.5:
            workspace, pool = "clean", clean_user(rng.randrange(40))
            picked = rng.sample(pool, rng.randint(1, 3))
        else:
            workspace = "contested"
            picked = rng.sample(CONTESTED_POOL, rng.randint(1, 4))
        body = {
            "identifiers": [_identifier_document(r) for r in as_raw(picked)],
            "message_id": f"m-{n}",
            "channel": rng.choice(["app", "mini", "crm"]),
            "tags": [rng.choice(["tea", "cake", "shoes"])],
            "traits": {"membership_level": rng.choice(["silver", "gold"])},
        }
        sent.append(Sent(workspace, body))
    return sent


def _identifier_document(item: RawIdentifier) -> dict[str, str]:
    document = {"kind": item.kind, "value": item.value}
    if item.scope:
        document["scope"] = item.scope
    return document


def hammer(server: Server, sent: list[Sent]) -> Figures:
    figures = Figures()
    deadline = time.monotonic() + TIME_LIMIT
    local = threading.local()

    def send(item: Sent) -> None:
        if time.monotonic() > deadline:
            return
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        headers = {"Authorization": f"Bearer {server.keys[item.workspace]}"}
        for _ in range(6):
            response = session.post(f"{server.url}/v1/identify", json=item.body,
                                    headers=headers, timeout=60)  # fmt: skip
            item.status = response.status_code
            if response.status_code != 503:
                break
            item.retries += 1
            time.sleep(min(float(response.headers.get("Retry-After", "1")), 1.0))
        if item.status == 200:
            item.answer = response.json()

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(send, sent))
    figures.seconds = time.monotonic() - started
    done = [s for s in sent if s.status is not None]
    figures.requests = len(done) + sum(s.retries for s in done)
    figures.retries = sum(s.retries for s in done)
    figures.statuses = Counter(s.status for s in done)
    figures.outcomes = Counter(s.answer["outcome"] for s in done if s.answer)
    return figures


# -- the checks --------------------------------------------------------------------------
def accepted(item: Sent, ws_policy: Any, hasher: KeyedHasher) -> list[Identifier]:
    raws = [RawIdentifier(i["kind"], i["value"], i.get("scope")) for i in item.body["identifiers"]]
    return screen(raws, ws_policy, hasher).accepted


def live_person(engine: Any, person_id: str) -> str:
    with engine.connect() as connection:
        merged_into = connection.execute(
            select(Person.merged_into).where(Person.id == person_id)
        ).scalar_one()
    return str(merged_into or person_id)


def test_concurrent_identify_keeps_every_invariant(server, database_url, capsys):
    from identity.policy import default_policy

    policy, hasher = default_policy(), KeyedHasher(SECRET)
    sent = workload(random.Random(2026), THREADS * REQUESTS_PER_THREAD)

    figures = hammer(server, sent)

    backend = database_url.split(":", 1)[0]
    with capsys.disabled():
        print(
            f"\n[concurrency {backend}] {figures.requests} requests ({figures.retries} "
            f"client retries after 503) from {THREADS} threads to {WORKERS}x{WORKER_THREADS} "
            f"gunicorn workers in {figures.seconds:.1f}s "
            f"({figures.requests / figures.seconds:.0f}/s); statuses {dict(figures.statuses)}; "
            f"outcomes {dict(figures.outcomes)}; server-side retries "
            f"{server.log.read_text().count('retrying after')}"
        )
    done = [s for s in sent if s.status is not None]
    assert len(done) >= len(sent) // 2, "the machine is too slow to say anything"
    for item in done:  # only an observation of nothing but junk is refused
        assert item.status == (200 if accepted(item, policy, hasher) else 422)

    engine = create_store_engine(database_url)
    try:
        assert_invariants(engine)
        _each_answer_still_owns_what_it_kept(engine, done, policy, hasher, server)
        _repeated_messages_got_the_first_answer(done)
        _clean_persons_are_the_connected_components(engine, done, policy, hasher, server)
        if engine.dialect.name == "sqlite":
            _contested_persons_are_those_of_the_commit_order(engine, done, policy, hasher, server)
    finally:
        engine.dispose()
    log = server.log.read_text()
    assert "13900130000" not in log and "shared0@example.com" not in log
    assert "Traceback" not in log


def _each_answer_still_owns_what_it_kept(engine, done, policy, hasher, server) -> None:  # type: ignore[no-untyped-def]
    """Identifiers never leave a person here (no split, no unbind), so the person an
    answer named must, through its aliases, still own every identifier it kept."""
    i = IdentifierRow.__table__.c
    with engine.connect() as connection:
        owner = {
            (ws_id, Identifier(kind, scope, value)): person
            for ws_id, kind, scope, value, person in connection.execute(
                select(i.workspace_id, i.kind, i.scope, i.value, i.person_id)
            )
        }
    for item in done:
        if item.answer is None:
            continue
        ws_id = server.workspaces[item.workspace]
        demoted = {
            Identifier(d["kind"], d.get("scope", ""), d["value"]) for d in item.answer["demoted"]
        }
        live = live_person(engine, item.answer["person_id"])
        for identifier in accepted(item, policy, hasher):
            if identifier not in demoted:
                assert owner[(ws_id, identifier)] == live, f"{identifier} left its person"


def _repeated_messages_got_the_first_answer(done: list[Sent]) -> None:
    answers: dict[tuple[str, str], dict[str, Any]] = {}
    for item in done:
        if item.answer is not None:
            key = (item.workspace, item.body["message_id"])
            assert answers.setdefault(key, item.answer) == item.answer


def _clean_persons_are_the_connected_components(engine, done, policy, hasher, server) -> None:  # type: ignore[no-untyped-def]
    graph = nx.Graph()
    for item in done:
        if item.workspace == "clean":
            kept = accepted(item, policy, hasher)
            graph.add_nodes_from(kept)
            graph.add_edges_from(itertools.pairwise(kept))
    expected = {frozenset(c) for c in nx.connected_components(graph)}
    assert stored_partition(engine, server.workspaces["clean"]) == expected
    assert all(not s.answer["demoted"] for s in done if s.workspace == "clean" and s.answer)


def _contested_persons_are_those_of_the_commit_order(engine, done, policy, hasher, server) -> None:  # type: ignore[no-untyped-def]
    """SQLite writers are serial (``BEGIN IMMEDIATE``) and each answer is stored with
    the time it was made under that lock: replaying in that order is the serial order."""
    ws_id = server.workspaces["contested"]
    with engine.connect() as connection:
        order = connection.execute(
            select(Message.message_id)
            .where(Message.workspace_id == ws_id)
            .order_by(Message.created_at)
        ).scalars()
        order = list(order)
    first = {}
    for item in done:
        if item.workspace == "contested" and item.answer:
            first.setdefault(item.body["message_id"], item)
    reference = InMemoryIdentityGraph(policy)
    for message_id in order:
        reference.identify(accepted(first[message_id], policy, hasher))
    assert stored_partition(engine, ws_id) == reference.partition()
