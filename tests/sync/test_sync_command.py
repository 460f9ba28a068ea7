"""`crm-connector sync STORE`: runs the sync in the foreground with progress, returns when
done, and `stores list --json` then shows the counts and states."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.db import session
from connector.db.models import Store
from connector.db.operations import SyncState
from connector.db.types import utcnow
from sync.jobs import schedule_syncs
from tests.rig import Rig

pytestmark = pytest.mark.slow


def cli(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from connector.cli import main; main()", *args],
        env={**os.environ, **rig.env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sync_command_syncs_a_store_and_stores_list_shows_it(rig: Rig) -> None:
    site = rig.sandbox.world.manifest()["woocommerce"]["stores"][0]
    done = cli(rig, "sync", str(rig.site.id))
    assert done.returncode == 0, done.stderr
    assert f"store {rig.site.id} synced" in done.stdout
    listed = json.loads(cli(rig, "stores", "list", "--json").stdout)
    entry = next(s for s in listed if s["id"] == rig.site.id)
    assert {e: v["count"] for e, v in entry["entities"].items()} == site["counts"]
    assert {v["state"] for v in entry["entities"].values()} == {"done"}
    assert {e: v["progress"]["done"] for e, v in entry["entities"].items()} == site["counts"]
    assert {v["progress"]["total"] for v in entry["entities"].values()} == set(site["counts"].values())


def test_sync_command_takes_a_domain_and_one_entity(rig: Rig) -> None:
    done = cli(rig, "sync", rig.shop.domain, "--entity", "products")
    assert done.returncode == 0, done.stderr
    entry = next(s for s in json.loads(cli(rig, "stores", "list", "--json").stdout) if s["id"] == rig.shop.id)
    assert (
        entry["entities"]["products"]["count"]
        == rig.sandbox.world.manifest()["shopify"]["shops"][0]["counts"]["products"]
    )
    assert entry["entities"]["orders"]["count"] == 0


def test_an_entity_the_stores_platform_does_not_sync_is_refused_and_nothing_runs(rig: Rig) -> None:
    # given a WooCommerce site (its checkout drafts arrive as orders; it has no checkouts to sync)
    # when its checkouts are asked for
    answer = cli(rig, "sync", str(rig.site.id), "--entity", "checkouts")
    # then one line names the entities it does sync, and no step ran
    assert answer.returncode == 2
    assert answer.stderr == (
        "crm-connector: --entity: a woocommerce store does not sync checkouts; "
        "choose customers, products, orders\n"
    )
    entry = next(s for s in json.loads(cli(rig, "stores", "list", "--json").stdout) if s["id"] == rig.site.id)
    never = (0, "never")
    assert {n: (e["count"], e["state"]) for n, e in entry["entities"].items()} == {
        "customers": never,
        "products": never,
        "orders": never,
    }


def test_sync_command_names_a_store_it_does_not_know(rig: Rig) -> None:
    answer = cli(rig, "sync", "no-such-shop.myshopify.com")
    assert answer.returncode == 2
    assert "no-such-shop.myshopify.com" in answer.stderr


def test_sync_command_words_an_unknown_store_as_its_siblings_do(rig: Rig) -> None:
    answer = cli(rig, "sync", "nosuchstore")
    assert answer.returncode == 2
    assert answer.stderr == "crm-connector: no store 'nosuchstore'; see `crm-connector stores list`\n"


def _move_site(rig: Rig, url: str) -> None:
    with session(rig.app) as s, s.begin():
        s.get_one(Store, rig.site.id).domain = url


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_store_that_cannot_be_reached_is_given_up_after_the_wait_with_the_reason(rig: Rig) -> None:
    # given a site whose address nothing listens on
    _move_site(rig, f"http://127.0.0.1:{_closed_port()}/woo/site-1")
    # when it is synced in the foreground with a short wait
    answer = cli(rig, "sync", str(rig.site.id), "--wait", "2")
    # then it stops (not after 27 silent tries), exit 1, naming the entity, the reason and the next try
    assert answer.returncode == 1, answer.stderr
    lines = answer.stderr.splitlines()
    first = next(line for line in lines if " customers: " in line)
    assert first.startswith("crm-connector: sync of woocommerce http://127.0.0.1:")
    assert "the store could not be reached: refused: nothing listens at that address and port" in first
    assert "gave up after 2 s (--wait); the scheduled sync tries again from " in first
    assert any(" orders: not tried, the store could not be reached in 2 s" in line for line in lines)
    assert "outcome=retry" not in answer.stdout + answer.stderr  # log lines are not the output
    # and the scheduler's next try is visible and respected (it backs off, then tries)
    entry = next(s for s in json.loads(cli(rig, "stores", "list", "--json").stdout) if s["id"] == rig.site.id)
    customers = entry["entities"]["customers"]
    assert "refused" in customers["last_error"] and customers["next_attempt_at"] is not None
    assert "next try" in cli(rig, "stores", "list").stdout
    assert "next try" in _dashboard_front_page(rig)
    with rig.app.app_context():
        schedule_syncs()
        assert _job_of(rig, "customers") is None  # not before its next try
        with session(rig.app) as s, s.begin():
            state = s.scalars(
                select(SyncState).where(SyncState.store_id == rig.site.id, SyncState.entity == "customers")
            ).one()
            state.retry_at = utcnow() - timedelta(seconds=1)
        schedule_syncs()
        assert _job_of(rig, "customers") is not None


def _dashboard_front_page(rig: Rig) -> str:
    from connector.db import get_engine
    from connector.web.dashboard import create_user

    with get_engine(rig.app).begin() as conn:
        create_user(conn, rig.site.account_id, "owner@shop.example", "correct horse battery")
    client = rig.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"email": "owner@shop.example", "password": "correct horse battery", "csrf_token": token}
    assert client.post("/login", data=form).status_code == 302
    return client.get("/stores").get_data(as_text=True)


def _job_of(rig: Rig, entity: str) -> str | None:
    with session(rig.app) as s:
        return s.scalar(
            select(SyncState.job_id).where(SyncState.store_id == rig.site.id, SyncState.entity == entity)
        )


def test_a_site_path_without_woocommerce_is_said_in_words(rig: Rig) -> None:
    _move_site(rig, f"{rig.sandbox.url}/woo/site-9")
    answer = cli(rig, "sync", str(rig.site.id), "--entity", "customers", "--wait", "2")
    assert answer.returncode == 1
    assert "the site answered 404 for customers: WooCommerce's REST API is not at this URL" in answer.stderr


def test_log_lines_print_above_the_progress_bars_on_a_terminal(rig: Rig) -> None:
    """Issue 14, item 7: on a terminal, with -v, each log line is whole: never spliced into a bar."""
    import pty
    import re

    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", "from connector.cli import main; main()", "-v", "sync", str(rig.site.id)],
        env={**os.environ, **rig.env, "COLUMNS": "200", "TERM": "xterm"},
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            part = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not part:
            break
        screen += part
    os.close(leader)
    assert child.wait(timeout=300) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode(errors="replace"))
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    logged = [line for line in lines if "sync step ended" in line]
    assert len(logged) >= 3, text[-2000:]  # one per entity at least
    assert not [line for line in logged if "━" in line], logged
    assert any("━" in line for line in lines)  # the bars were drawn
    assert f"store {rig.site.id} synced" in text
