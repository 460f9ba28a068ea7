"""What the `destinations add-<kind>` console-script tests share: a command run with its options
given by name, how many destinations are saved, the refusal every bad input must get (exit 2,
one sentence, nothing saved), and the list / check / push / list / check round after adding."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.db import get_engine
from connector.db.operations import Destination
from tests.rig import Rig
from tests.test_stores_cli import main


def count(rig: Rig) -> int:
    with get_engine(rig.app).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Destination)).scalar_one())


def run(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str, **given: str
) -> tuple[int, str, str]:
    """`destinations <command>` with each of `given` as its option (client_id: --client-id)."""
    args = [a for k, v in given.items() for a in (f"--{k.replace('_', '-')}", v)]
    return main(rig.env, monkeypatch, capsys, "destinations", command, *args)


def assert_refused(rig: Rig, answer: tuple[int, str, str], words: str, why: object = None) -> None:
    """Exit 2 with one line holding `words`, and no destination saved."""
    status, _out, err = answer
    assert (status, count(rig)) == (2, 0), (why, err)
    assert words in err and len(err.strip().splitlines()) == 1, (why, err)


def assert_push_fills_what_check_misses(
    rig: Rig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    missing: str,
    held: Callable[[], int],
) -> dict[str, Any]:
    """Destination 1, added and synced: `check` names `missing` until the first push makes the
    fields; that push sends every order (as many as the CRM then `held`); `check` then passes.
    Returns its first list row."""
    env = rig.env
    _status, out, _err = main(env, monkeypatch, capsys, "destinations", "list", "--json")
    [listed] = json.loads(out)
    assert listed["objects"]["orders"]["pending"] > 0
    status, _out, err = main(env, monkeypatch, capsys, "destinations", "check", "1")
    assert status == 2 and f"missing fields {missing}" in err
    status, out, _err = main(env, monkeypatch, capsys, "destinations", "push", "1")
    assert status == 0 and "destination 1: pushed contacts" in out
    _status, out, _err = main(env, monkeypatch, capsys, "destinations", "list", "--json")
    objects = json.loads(out)[0]["objects"]
    assert objects["orders"]["pending"] == 0 and objects["orders"]["pushed"] == held()
    assert main(env, monkeypatch, capsys, "destinations", "check", "1")[0] == 0
    return dict(listed)
