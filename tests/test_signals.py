"""SIGINT, SIGTERM and SIGHUP end a command and every process it started: `crm-connector run`
(the embedded Redis, the web server's workers, the RQ worker, its work horse and cron), `demo`
and a one-shot `sync`, each stopped mid-sync. No process of theirs is left, nothing keeps
writing, leases are given back (or, for a step stopped inside a transaction, left to lapse),
and the sync resumed afterwards ends equal to the platform."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from flask import Flask
from sqlalchemy import func, select

from connector.db import get_engine
from connector.db.models import Order
from connector.db.operations import SyncRun, SyncState
from connector.runtime.signals import Stopped, deferred_stops, raise_stopped
from sandbox.clients import shopify_client, woo_api
from sandbox.generator import Sizes
from sandbox.world import World
from sync.engine import ENTITIES, run_step
from tests.rig import Rig, build
from tests.sync.truth import crm_facts, shopify_truth, woo_truth
from tests.test_runtime import wait_for as runtime_wait_for

pytestmark = pytest.mark.slow
# Each signal takes its own path (a process group's Ctrl-C or hang-up, a manager's SIGTERM to the
# command alone), none of them the database's: the embedded run sends all three, the PostgreSQL
# run (DATABASE_URL) SIGTERM, whose stop mid-transaction is what a database server sees.
SIGNALS = (
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP] if not os.environ.get("DATABASE_URL") else [signal.SIGTERM]
)
STOPPED_WITHIN_S = 45


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    # one request at a time, each slow: a WooCommerce backfill outlasts the stop by far
    env = {**app_env, "CONNECTOR_SYNC_LEASE_SECONDS": "5", "CONNECTOR_WOO_CONCURRENCY": "1"}
    world = World(seed=41, sizes=Sizes(customers=150, orders=3000, products=20), plan="plus")
    world.faults.latency_ms = 400
    yield from build(env, world, redis_url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(app_env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """The command in a session of its own (as a terminal runs it), on the test's database,
    with the embedded Redis it starts and owns (no REDIS_URL)."""
    env = {k: v for k, v in {**os.environ, **app_env}.items() if k != "REDIS_URL"}
    env["CONNECTOR_INSTANCE_PATH"] = str(tmp_path / "instance")
    return subprocess.Popen(
        [sys.executable, "-c", "from connector.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def collect_output(proc: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        lines.extend(iter(proc.stdout.readline, ""))

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    return runtime_wait_for(predicate, what, timeout, every=0.1)


def syncing(app: Flask, store_id: int | None) -> bool:
    """A step (of this store's orders) is open and has written a chunk: the command is mid-sync."""
    mine = [SyncRun.store_id == store_id, SyncRun.entity == "orders"] if store_id else []
    with get_engine(app).connect() as conn:
        steps = conn.execute(
            select(SyncRun.store_id, SyncRun.entity).where(SyncRun.ended_at.is_(None), *mine)
        )
        written = [
            conn.execute(
                select(SyncState.done).where(
                    SyncState.store_id == step.store_id, SyncState.entity == step.entity
                )
            ).scalar()
            for step in steps.all()
        ]
    return any(written)


def tree(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    root = psutil.Process(proc.pid)
    return [root, *root.children(recursive=True)]


def alive(procs: list[psutil.Process]) -> list[str]:
    left = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return left


def stop_mid_sync(
    app: Flask, proc: subprocess.Popen[str], signum: int, store_id: int | None = None
) -> tuple[int, list[str]]:
    """Wait until the command is mid-sync (of that store's orders), send it `signum`; its exit code,
    and any process it had started that is still alive after it ended."""
    output = collect_output(proc)
    wait_for(lambda: syncing(app, store_id) or proc.poll() is not None, "a sync step to write")
    assert proc.poll() is None, "".join(output)[-3000:]
    procs = tree(proc)
    if signum == signal.SIGTERM:  # a process manager's (systemd, `timeout`): the command alone
        proc.send_signal(signum)
    else:  # a terminal's Ctrl-C or hang-up: its whole foreground process group
        os.killpg(proc.pid, signum)
    try:
        code = proc.wait(timeout=STOPPED_WITHIN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the command did not stop: " + "".join(output)[-3000:]) from None
    time.sleep(0.5)
    left = alive(procs)
    assert "was sent SIGKILL" not in "".join(output), "".join(output)[-3000:]
    return code, left


def nothing_keeps_writing(app: Flask) -> None:
    def held() -> int:
        with get_engine(app).connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Order)).scalar_one())

    before = held()
    time.sleep(2)
    assert held() == before


def leases_given_back_or_lapsing(app: Flask) -> None:
    """Each lease is given back, or (a step that could not end) left to lapse: nobody renews it."""

    def held() -> list[tuple[str, Any]]:
        with get_engine(app).connect() as conn:
            query = select(SyncState.entity, SyncState.lease_until).where(SyncState.lease_owner.is_not(None))
            return [(row.entity, row.lease_until) for row in conn.execute(query).all()]

    before = held()
    time.sleep(2)
    assert held() == before


def resumed(rig: Rig, store_id: int, entity: str) -> str:
    """The entity's sync run to its end here, once a lease left to lapse (5 s) has lapsed."""
    deadline = time.monotonic() + 30
    with rig.app.app_context():
        while True:
            outcome = run_step(rig.app, store_id, entity, "after-the-stop").outcome
            if outcome != "busy" or time.monotonic() > deadline:
                return outcome
            time.sleep(0.5)


def resumed_equals_platform(rig: Rig, stores: list[tuple[int, str]]) -> None:
    manifest = rig.sandbox.world.manifest()
    rig.sandbox.world.faults.latency_ms = 0
    for store_id, platform in stores:
        for entity in ENTITIES:
            assert resumed(rig, store_id, entity) == "done"
            if platform == "shopify":
                truth = shopify_truth(shopify_client(manifest, manifest["shopify"]["shops"][0]), entity)
            else:
                truth = woo_truth(woo_api(manifest["woocommerce"]["stores"][0], timeout=30), entity)
            assert crm_facts(rig.app, store_id, entity) == truth, (platform, entity)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_to_run_mid_sync_ends_every_process_it_started(
    rig: Rig, tmp_path: Path, signum: int
) -> None:
    # given `crm-connector run` syncing the shop and the site (cron asks for them at start),
    # in the middle of the site's orders (a step far longer than a stop may take)
    proc = start(rig.env, tmp_path, "run", "--port", str(free_port()))
    # when the signal arrives mid-sync, then it exits and no process it started is left:
    # the embedded Redis, the web server and its workers, the worker, its horse, cron
    code, left = stop_mid_sync(rig.app, proc, signum, rig.site.id)
    assert code == 0 and left == []
    # and nothing keeps writing, the steps gave their leases back (or left them to lapse),
    # and the site's sync
    # resumed afterwards ends with every record of the platform
    nothing_keeps_writing(rig.app)
    leases_given_back_or_lapsing(rig.app)
    resumed_equals_platform(rig, [(rig.site.id, "woocommerce")])


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_to_a_one_shot_sync_ends_it_and_its_redis(rig: Rig, tmp_path: Path, signum: int) -> None:
    # given `crm-connector sync STORE` backfilling the site
    proc = start(rig.env, tmp_path, "sync", str(rig.site.id))
    # when the signal arrives mid-sync, then it exits unsuccessfully, its Redis with it
    code, left = stop_mid_sync(rig.app, proc, signum)
    assert code == (1 if signum == signal.SIGINT else 128 + signum) and left == []
    # and the step gave its lease back (or left it to lapse), and a resumed sync ends
    # equal to the platform
    nothing_keeps_writing(rig.app)
    leases_given_back_or_lapsing(rig.app)
    resumed_equals_platform(rig, [(rig.site.id, "woocommerce")])


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_to_the_demo_mid_backfill_ends_it_and_every_process(
    app: Flask, app_env: dict[str, str], tmp_path: Path, signum: int
) -> None:
    # given the demo backfilling its own sandbox's shop and site (on the test's database)
    sizes = ["--customers", "100", "--orders", "3000", "--products", "10"]
    proc = start(app_env, tmp_path, "demo", "--port", str(free_port()), *sizes)
    # when the signal arrives mid-backfill, then it exits and its Redis is gone with it
    code, left = stop_mid_sync(app, proc, signum)
    assert code == (1 if signum == signal.SIGINT else 128 + signum) and left == []
    # and nothing keeps writing: its steps gave their leases back or left them to lapse
    nothing_keeps_writing(app)
    leases_given_back_or_lapsing(app)


@pytest.mark.parametrize(
    ("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Stopped)]
)
def test_a_stop_landing_in_a_deferred_block_takes_effect_as_the_block_ends(
    signum: signal.Signals, raised: type[BaseException]
) -> None:
    # given SIGTERM unwinding this process as the CLI sets it up, SIGINT as Python does
    before = signal.signal(signal.SIGTERM, raise_stopped)
    before_int = signal.signal(signal.SIGINT, signal.default_int_handler)  # an earlier test's may be left
    ran: list[str] = []
    try:
        # when the signal lands inside a deferred block
        with pytest.raises(raised), deferred_stops():
            os.kill(os.getpid(), signum)
            ran.append("the rest of the block")
        # then the block ran to its end first, and the handlers are back as they were
        assert ran == ["the rest of the block"] and signal.getsignal(signal.SIGTERM) is raise_stopped
    finally:
        signal.signal(signal.SIGTERM, before)
        signal.signal(signal.SIGINT, before_int)
