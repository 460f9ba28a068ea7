"""Real worker processes, the Procfile's own (`crm-connector worker`, a forked work horse per
job): one backfills stores on its own with no record dead-lettered; two sync several stores
at once and are killed with SIGKILL at random points five times over; restarted, they finish
with the CRM store equal to every platform store, nothing missing and nothing twice, and no
entity of a store was ever stepped by two jobs at once. A step a killed worker had taken off
the queue but not yet started is asked for again."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
import redis
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from connector.db import get_engine
from connector.db.models import Store
from connector.db.operations import DeadLetter, SyncRun, SyncState
from connector.runtime.queue import get_queue, make_worker
from sandbox.clients import shopify_client, woo_api
from sandbox.generator import Sizes
from sandbox.world import World
from sync.engine import ENTITIES
from sync.jobs import request_sync, schedule_syncs
from tests.rig import Rig, build, connect_pair
from tests.sync.truth import crm_facts, shopify_truth, woo_truth

pytestmark = pytest.mark.slow
KILLS = 5


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    env = {**app_env, "CONNECTOR_SYNC_STEP_SECONDS": "1", "CONNECTOR_SYNC_LEASE_SECONDS": "5"}
    world = World(
        seed=31, sizes=Sizes(customers=400, orders=3000, products=60), shops=2, woo_sites=2, plan="plus"
    )
    yield from build(env, world, redis_url)


def connect_the_others(rig: Rig) -> list[Store]:
    manifest = rig.sandbox.world.manifest()
    with rig.app.app_context():
        return list(
            connect_pair(rig.app, manifest["shopify"]["shops"][1], manifest["woocommerce"]["stores"][1])
        )


def start_worker(rig: Rig, *flags: str) -> subprocess.Popen[bytes]:
    """The Procfile's worker: each job in a forked work horse."""
    return subprocess.Popen(
        [sys.executable, "-c", "from connector.cli import main; main()", "worker", "--queue=sync", *flags],
        env={**os.environ, **rig.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(worker: subprocess.Popen[bytes]) -> None:
    """The machine dies under it: the worker and every process it started (its work horse,
    in a process group of its own) are killed at once."""
    try:
        tree = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    psutil.wait_procs(tree, timeout=10)


def steps_open(rig: Rig) -> set[int]:
    with get_engine(rig.app).connect() as conn:
        return set(conn.execute(select(SyncRun.id).where(SyncRun.ended_at.is_(None))).scalars())


def all_done(rig: Rig, store_ids: list[int]) -> bool:
    with get_engine(rig.app).connect() as conn:
        states = (
            conn.execute(
                select(SyncState.state).where(
                    SyncState.store_id.in_(store_ids), SyncState.entity.in_(ENTITIES)
                )
            )
            .scalars()
            .all()
        )
    return len(states) == len(store_ids) * len(ENTITIES) and all(s == "done" for s in states)


def test_the_procfile_worker_backfills_stores_exact_with_no_record_dead_lettered(rig: Rig) -> None:
    # given a shop and a site never synced, and the Procfile's worker (a forked horse per job,
    # a step of one second, so each entity's backfill is many jobs in many horses)
    stores = [rig.shop.id, rig.site.id]
    with rig.app.app_context():
        for store_id in stores:
            for entity in ENTITIES:
                assert request_sync(rig.app, store_id, entity)
    # when it works, with cron's revival asked for every two seconds, until every run is done
    worker = start_worker(rig)
    deadline = time.monotonic() + 600
    try:
        while not all_done(rig, stores) and time.monotonic() < deadline:
            assert worker.poll() is None, "the worker exited"
            time.sleep(2)
            with rig.app.app_context():
                schedule_syncs()
    finally:
        kill(worker)
    # then every entity finished, nothing was set aside, and the store equals its platform
    assert all_done(rig, stores)
    with get_engine(rig.app).connect() as conn:
        letters = conn.execute(select(DeadLetter.reason)).scalars().all()
        steps = conn.execute(select(func.count()).select_from(SyncRun)).scalar_one()
        errors = conn.execute(select(SyncRun.error).where(SyncRun.error.is_not(None))).scalars().all()
    assert letters == []
    assert errors == []  # and no step met a database error on the way
    assert steps > len(stores) * len(ENTITIES)  # the backfill crossed several horses per entity
    manifest = rig.sandbox.world.manifest()
    client = shopify_client(manifest, manifest["shopify"]["shops"][0])
    api = woo_api(manifest["woocommerce"]["stores"][0], timeout=30)
    for entity in ENTITIES:
        assert crm_facts(rig.app, rig.shop.id, entity) == shopify_truth(client, entity), entity
        assert crm_facts(rig.app, rig.site.id, entity) == woo_truth(api, entity), entity


def test_a_step_taken_by_a_worker_killed_before_its_horse_started_is_asked_for_again(rig: Rig) -> None:
    # given a step asked for and waiting on its queue: asking again enqueues nothing
    with rig.app.app_context():
        first = request_sync(rig.app, rig.shop.id, "customers")
        assert first is not None
        assert request_sync(rig.app, rig.shop.id, "customers") is None
    # when a worker takes it off the queue, as RQ's workers do, and is killed before its
    # work horse marks the job started (RQ still says "queued" and will for ten minutes)
    queue = get_queue("sync", rig.redis)
    taken = Queue.dequeue_any([queue], None, connection=rig.redis, serializer=JSONSerializer)
    assert taken is not None and taken[0].id == first
    assert taken[0].get_status() == JobStatus.QUEUED
    # then cron's revival asks for a new step, and a worker carries the run to its end
    with rig.app.app_context():
        schedule_syncs()
        assert state_of(rig, rig.shop.id, "customers").job_id not in (None, first)
        make_worker(rig.redis, ("sync",), simple=True).work(burst=True)
    assert state_of(rig, rig.shop.id, "customers").state == "done"


def state_of(rig: Rig, store_id: int, entity: str) -> Any:
    with get_engine(rig.app).connect() as conn:
        return conn.execute(
            select(SyncState).where(SyncState.store_id == store_id, SyncState.entity == entity)
        ).one()


def test_two_workers_killed_five_times_finish_with_every_store_exact(rig: Rig) -> None:
    stores = [rig.shop.id, rig.site.id] + [s.id for s in connect_the_others(rig)]
    with rig.app.app_context():
        for store_id in stores:
            for entity in ENTITIES:
                assert request_sync(rig.app, store_id, entity)
    chooser = random.Random(5)
    workers = [start_worker(rig), start_worker(rig)]
    deadline = time.monotonic() + 600
    try:
        kills, dead, revived = 0, set[int](), time.monotonic()
        while kills < KILLS and not all_done(rig, stores):  # given workers killed mid-step, at random
            assert time.monotonic() < deadline, "no step started after a kill"
            if not steps_open(rig) - dead:
                time.sleep(0.05)
                if time.monotonic() - revived > 2:  # cron's revival, every 30 s in production
                    with rig.app.app_context():
                        schedule_syncs()
                    revived = time.monotonic()
                continue
            time.sleep(chooser.uniform(0.0, 0.6))
            kills += 1
            for w in workers:
                kill(w)
            dead = steps_open(rig)
            workers = [start_worker(rig), start_worker(rig)]
            with rig.app.app_context():
                schedule_syncs()  # cron's revival: runs whose job died are asked for again
        while not all_done(rig, stores) and time.monotonic() < deadline:
            time.sleep(2)
            with rig.app.app_context():
                schedule_syncs()
    finally:
        for w in workers:
            kill(w)
    assert all_done(rig, stores)
    # then every store equals its platform record for record
    manifest = rig.sandbox.world.manifest()
    with get_engine(rig.app).connect() as conn:
        rows = {s.id: s for s in conn.execute(select(Store).where(Store.id.in_(stores))).all()}
        runs = conn.execute(select(SyncRun).where(SyncRun.kind == "sync").order_by(SyncRun.started_at)).all()
    for shop in manifest["shopify"]["shops"]:
        store_id = next(i for i, r in rows.items() if r.domain == shop["domain"])
        client = shopify_client(manifest, shop)
        for entity in ENTITIES:
            assert crm_facts(rig.app, store_id, entity) == shopify_truth(client, entity), (
                shop["domain"],
                entity,
            )
    for site in manifest["woocommerce"]["stores"]:
        store_id = next(i for i, r in rows.items() if r.domain == site["url"])
        api = woo_api(site, timeout=30)
        for entity in ENTITIES:
            assert crm_facts(rig.app, store_id, entity) == woo_truth(api, entity), (site["url"], entity)
    # and the steps of one store's entity never overlapped (a killed step never ended)
    assert kills == KILLS
    assert sum(r.ended_at is None for r in runs) >= KILLS, "the kills missed the steps"
    for store_id in stores:
        for entity in ENTITIES:
            mine = [r for r in runs if r.store_id == store_id and r.entity == entity]
            for before, after in itertools.pairwise(mine):
                if before.ended_at is not None:
                    assert after.started_at >= before.ended_at, (store_id, entity)
    # and a WooCommerce site's entities were synced one at a time, so its request limit held
    # across both workers
    for site in manifest["woocommerce"]["stores"]:
        store_id = next(i for i, r in rows.items() if r.domain == site["url"])
        mine = [r for r in runs if r.store_id == store_id]
        for before, after in itertools.pairwise(mine):
            if before.ended_at is not None:
                assert after.started_at >= before.ended_at, (store_id, before.entity, after.entity)
    limit = rig.app.extensions["crm.settings"].woo_concurrency
    peaks = rig.sandbox.world.site_max_in_flight
    assert peaks and all(0 < peak <= limit for peak in peaks.values()), peaks
