"""`crm-connector destinations …` through the console script: credentials checked before
anything is saved (a refused token, an unknown account: exit 2, nothing saved), the list in
its JSON shape, a push with its summary, `check`, and `remove` only with --yes."""

from __future__ import annotations

import pytest

from tests.destinations.cli_helpers import assert_push_fills_what_check_misses, assert_refused, count, run
from tests.destinations.helpers import sync_everything
from tests.rig import Rig
from tests.test_stores_cli import main


def test_destinations_commands_check_first_and_list_push_check_and_remove(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = rig.sandbox.url + "/hubspot"
    token = rig.sandbox.world.hubspot.token
    env = rig.env
    # a refused token and an unknown account: exit 2, one line, nothing saved
    add = {"account": "test", "token": token, "api_url": api}
    answer = run(rig, monkeypatch, capsys, "add-hubspot", **(add | {"token": "pat-wrong"}))
    assert_refused(rig, answer, "did not accept the token")
    assert "nothing was saved" in answer[2]
    answer = run(rig, monkeypatch, capsys, "add-hubspot", **(add | {"account": "tset"}))
    assert_refused(rig, answer, "no account named 'tset'")
    # a good token: connected, and listed with its objects
    status, out, _err = run(rig, monkeypatch, capsys, "add-hubspot", **add)
    assert status == 0 and out.startswith("destination 1 connected: hubspot")
    sync_everything(rig)

    # before the first push the connector's fields are missing; the push makes them and sends everything
    def held() -> int:
        return int(rig.sandbox.world.hubspot.counts()["orders"])

    listed = assert_push_fills_what_check_misses(
        rig, monkeypatch, capsys, "contacts.connector_contact_id", held
    )
    assert (listed["id"], listed["kind"], listed["account"], listed["status"]) == (
        1,
        "hubspot",
        "test",
        "active",
    )
    assert set(listed["objects"]) == {"contacts", "orders"}
    assert set(listed["objects"]["contacts"]) == {"pushed", "pending", "failed", "last_pushed_at"}
    # remove: only with --yes, and an unknown id is one line
    assert main(env, monkeypatch, capsys, "destinations", "remove", "1")[0] == 2
    assert main(env, monkeypatch, capsys, "destinations", "push", "7")[0] == 2
    assert main(env, monkeypatch, capsys, "destinations", "remove", "1", "--yes")[0] == 0
    assert count(rig) == 0


def test_a_push_whose_token_is_refused_says_so_in_one_line_and_exits_2(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a HubSpot destination whose private-app token the merchant then rotated
    add = {
        "account": "test",
        "token": rig.sandbox.world.hubspot.token,
        "api_url": rig.sandbox.url + "/hubspot",
    }
    assert run(rig, monkeypatch, capsys, "add-hubspot", **add)[0] == 0
    sync_everything(rig)
    rig.sandbox.world.hubspot.rotate_token()
    # when it is pushed, then one line says what to do, exit 2, and nothing else is printed
    status, out, err = main(rig.env, monkeypatch, capsys, "destinations", "push", "1")
    assert status == 2 and out == "", (out, err)  # not even an empty progress bar
    assert len(err.strip().splitlines()) == 1 and "reconnect the destination" in err, err
