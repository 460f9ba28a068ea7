"""`crm-connector destinations …` through the console script: credentials checked before
anything is saved (a refused token, an unknown account: exit 2, nothing saved), the list in
its JSON shape, a push with its summary, `check`, and `remove` only with --yes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from connector.db import get_engine
from connector.db.operations import Destination
from tests.destinations.helpers import sync_everything
from tests.rig import Rig
from tests.test_stores_cli import main


def count(rig: Rig) -> int:
    with get_engine(rig.app).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Destination)).scalar_one())


def test_destinations_commands_check_first_and_list_push_check_and_remove(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = rig.sandbox.url + "/hubspot"
    token = rig.sandbox.world.hubspot.token
    env = rig.env
    # a refused token and an unknown account: exit 2, one line, nothing saved
    status, _out, err = main(
        env,
        monkeypatch,
        capsys,
        "destinations",
        "add-hubspot",
        "--account",
        "test",
        "--token",
        "pat-wrong",
        "--api-url",
        api,
    )
    assert (status, count(rig)) == (2, 0) and "did not accept the token" in err and "nothing was saved" in err
    status, _out, err = main(
        env,
        monkeypatch,
        capsys,
        "destinations",
        "add-hubspot",
        "--account",
        "tset",
        "--token",
        token,
        "--api-url",
        api,
    )
    assert (status, count(rig)) == (2, 0) and "no account named 'tset'" in err
    # a good token: connected, and listed with its objects
    status, out, _err = main(
        env,
        monkeypatch,
        capsys,
        "destinations",
        "add-hubspot",
        "--account",
        "test",
        "--token",
        token,
        "--api-url",
        api,
    )
    assert status == 0 and out.startswith("destination 1 connected: hubspot")
    sync_everything(rig)
    _status, out, _err = main(env, monkeypatch, capsys, "destinations", "list", "--json")
    [listed] = json.loads(out)
    assert (
        listed["id"] == 1
        and listed["kind"] == "hubspot"
        and listed["account"] == "test"
        and listed["status"] == "active"
    )
    assert set(listed["objects"]) == {"contacts", "orders"} and listed["objects"]["orders"]["pending"] > 0
    assert set(listed["objects"]["contacts"]) == {"pushed", "pending", "failed", "last_pushed_at"}
    # before the first push the connector's fields are missing; the push makes them and sends everything
    status, _out, err = main(env, monkeypatch, capsys, "destinations", "check", "1")
    assert status == 2 and "missing fields contacts.connector_contact_id" in err
    status, out, _err = main(env, monkeypatch, capsys, "destinations", "push", "1")
    assert status == 0 and "destination 1: pushed contacts" in out
    _status, out, _err = main(env, monkeypatch, capsys, "destinations", "list", "--json")
    objects = json.loads(out)[0]["objects"]
    assert (
        objects["orders"]["pending"] == 0
        and objects["orders"]["pushed"] == rig.sandbox.world.hubspot.counts()["orders"]
    )
    assert main(env, monkeypatch, capsys, "destinations", "check", "1")[0] == 0
    # remove: only with --yes, and an unknown id is one line
    assert main(env, monkeypatch, capsys, "destinations", "remove", "1")[0] == 2
    assert main(env, monkeypatch, capsys, "destinations", "push", "7")[0] == 2
    assert main(env, monkeypatch, capsys, "destinations", "remove", "1", "--yes")[0] == 0
    assert count(rig) == 0
