"""The Procfile's worker and cron outlive a Redis outage: stopped under them and started
again, Redis is waited for (with backoff, logged with one constant message), and both carry
on; every webhook acknowledged meanwhile is applied, none is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select

from connector.db.models import Customer
from connector.db.operations import WebhookInbox
from connector.runtime.embedded_redis import EmbeddedRedis
from connector.runtime.queue import connect
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import Rig, build
from tests.test_runtime import wait_for as runtime_wait_for
from tests.webhooks.test_end_to_end import crm_state, repair_both

pytestmark = pytest.mark.slow
OUTAGE_S = 15  # longer than cron's sweep interval (10 s) and RQ's own quick retries


def start(rig: Rig, role: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from connector.cli import main; main()", role],
            env={**os.environ, **rig.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    return runtime_wait_for(predicate, what, timeout, every=0.2)


def inbox_settled(rig: Rig, expected: int) -> Callable[[], bool]:
    def settled() -> bool:
        with rig.app.extensions["crm.engine"].connect() as conn:
            statuses = conn.execute(select(WebhookInbox.status)).scalars().all()
        # (cron's re-syncs run too: a shop's bulk_operations/finish hints are "ignored")
        return len(statuses) >= expected and all(s in ("done", "ignored") for s in statuses)

    return settled


def test_worker_and_cron_outlive_a_redis_outage_and_lose_nothing(
    app_env: dict[str, str], tmp_path: Path, redis_conn: redis.Redis
) -> None:
    own = EmbeddedRedis(tmp_path / "own-redis").start()
    log = tmp_path / "roles.log"
    roles: list[subprocess.Popen[bytes]] = []
    try:
        for rig in build(app_env, World(seed=12, sizes=Sizes(40, 80, 20)), own.url):
            # given the Procfile's worker and cron on a Redis, applying webhooks as they come
            repair_both(rig)
            roles = [start(rig, "worker", log), start(rig, "cron", log)]
            first = rig.mutate("shopify", "customers", "update", 10)
            assert rig.sandbox.world.dispatcher.wait_idle(timeout=60)
            wait_for(inbox_settled(rig, len(first)), "the first deliveries applied")
            # when Redis stops under them while deliveries keep coming, and starts again
            own.stop()
            second = rig.mutate("shopify", "customers", "update", 10)
            assert rig.sandbox.world.dispatcher.wait_idle(timeout=60)
            time.sleep(OUTAGE_S)
            assert [r.poll() for r in roles] == [None, None], log.read_text()[-3000:]
            own.start()
            rig.redis = connect(own.url)
            # then both carried on: what was acknowledged during the outage is applied, once
            wait_for(inbox_settled(rig, len(first) + len(second)), "the outage's deliveries applied")
            assert [r.poll() for r in roles] == [None, None], log.read_text()[-3000:]
            with rig.app.extensions["crm.engine"].connect() as conn:
                attempts = conn.execute(select(WebhookInbox.attempts)).scalars().all()
            assert attempts and set(attempts) == {1}
            assert set(first) | set(second) <= set(crm_state(rig.app, Customer, rig.shop.id, ("email",)))
            # and each waited for Redis the same way, saying so with one constant message
            text = log.read_text()
            assert "redis unavailable; reconnecting" in text and "role=cron" in text
    finally:
        for role in roles:
            role.terminate()
            role.wait(timeout=30)
        own.stop()
