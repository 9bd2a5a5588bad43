"""``databank demo`` on a fresh SQLite file: a rich profile and a meaningful overlap."""

from __future__ import annotations

import re

from click.testing import CliRunner

from api.cli import main
from identity.normalise import KeyedHasher
from identity.services.audience import overlap
from identity.services.persons import get_person
from identity.services.workspaces import Workspaces
from identity.store.database import create_store_engine
from identity.store.uow import Store
from tests.conftest import SECRET


def environment(tmp_path):  # type: ignore[no-untyped-def]
    return {
        "DATABANK_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
        "DATABANK_SECRET_KEY": SECRET.decode(),
        "DATABANK_VAR_DIR": str(tmp_path / "var"),
    }


def test_demo_small_leaves_rich_profiles_and_an_overlap_of_channels(tmp_path):
    env = environment(tmp_path)
    url = env["DATABANK_DATABASE_URL"]

    result = CliRunner().invoke(main, ["demo", "--rows", "small"], env=env)

    assert result.exit_code == 0, result.output
    assert "2,000 rows imported" in result.output
    assert (tmp_path / "var" / "demo" / "demo" / "app_login.csv").exists()
    person_id = re.search(r"/v1/persons/(p_\w+)", result.output).group(1)  # type: ignore[union-attr]
    engine = create_store_engine(url)
    workspaces = Workspaces(Store(engine), KeyedHasher(SECRET))
    ws = workspaces.context_by_name("demo")

    profile = get_person(workspaces.store, ws, person_id)
    assert {"membership_level", "consumption_level", "points"} <= set(profile["traits"])
    assert profile["tags"]
    assert len(profile["channels"]) >= 3
    assert len(profile["identifiers"]) >= 4
    assert sum(profile["activity"]["hours"]) >= 3

    shares = overlap(workspaces.store, ws, ["app", "wechat_mp", "alipay_mp", "crm"])
    populated = [c for c in shares["combinations"] if c["persons"] > 0]
    assert len(populated) >= 8
    assert (
        sum(c["persons"] for c in populated if len(c["channels"]) >= 2) >= 0.2 * shares["persons"]
    )
    assert all(shares["per_channel"][name] > 0 for name in shares["channels"])
    engine.dispose()


def test_demo_refuses_a_workspace_that_exists(tmp_path):
    env = environment(tmp_path)
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"], env=env)
    assert runner.invoke(main, ["workspace", "create", "taken"], env=env).exit_code == 0

    result = runner.invoke(main, ["demo", "--workspace", "taken", "--rows", "10"], env=env)

    assert result.exit_code != 0
    assert "exists" in str(result.exception)
