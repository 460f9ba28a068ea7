"""The sync's RQ jobs and how they are asked for.

`sync_entity` runs one bounded step and, if the run is not finished, asks for the next.
`request_sync` is the only way a step is enqueued: it records the step's job id on the
sync state (a conditional update, so two askers cannot both enqueue) and enqueues with a
unique id, unless a step is already waiting or a live lease says one is running. The
cron fan-out `schedule_syncs` asks for every due entity of every active store, and
revives runs whose job vanished or whose worker was killed (their lease lapsed).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select, update

from connector import logs
from connector.context import settings_of
from connector.db import get_engine
from connector.db.models import Store
from connector.db.operations import SyncState
from connector.db.types import utcnow
from connector.runtime.queue import enqueue, get_queue, get_redis
from platforms.entities import synced_by
from sync import checkpoints
from sync.engine import run_step

log = logs.get(__name__)
WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def sync_entity(store_id: int, entity: str, full: bool = False) -> dict[str, Any]:
    """RQ job: one step of a store's sync of one entity."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    owner = _job_id() or f"local-{secrets.token_hex(6)}"
    result = run_step(app, store_id, entity, owner, full=full, budget_s=settings_of(app).sync_step_s)
    if result.outcome == "paused":
        request_sync(app, store_id, entity, continuing=owner)
    return {"outcome": result.outcome, "records": result.records, "error": result.error}


def request_sync(
    app: Flask, store_id: int, entity: str, *, full: bool = False, continuing: str | None = None
) -> str | None:
    """Enqueue a step unless one is waiting or running; the new job id, or None."""
    redis, engine, now = get_redis(app), get_engine(app), utcnow()
    with engine.begin() as conn:
        checkpoints.ensure(conn, store_id, entity, now)
        state = conn.execute(
            select(SyncState.job_id, SyncState.lease_owner, SyncState.lease_until).where(
                SyncState.store_id == store_id, SyncState.entity == entity
            )
        ).one()
        leased = state.lease_until is not None and state.lease_until > now and state.lease_owner != continuing
        if leased or _waiting(redis, state.job_id):
            return None
        job_id = f"sync-{store_id}-{entity}-{secrets.token_hex(6)}"
        claimed = conn.execute(
            update(SyncState)
            .where(
                SyncState.store_id == store_id,
                SyncState.entity == entity,
                SyncState.job_id.is_(None) if state.job_id is None else SyncState.job_id == state.job_id,
            )
            .values(job_id=job_id)
        ).rowcount
    if not claimed:
        return None  # another asker won
    timeout = settings_of(app).sync_step_s * 4 + 600
    enqueue(
        redis,
        "sync",
        "sync.jobs.sync_entity",
        store_id,
        entity,
        full,
        job_id=job_id,
        job_timeout=timeout,
        result_ttl=3600,
        failure_ttl=7 * 86400,
    )
    log.info("sync step enqueued", extra={"store_id": store_id, "entity": entity, "job_id": job_id})
    return job_id


def schedule_syncs() -> dict[str, int]:
    """Cron: every active store's entities that are due (never synced, last run older than the
    re-sync interval, or a run left without a live job), each asked for once."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings, now = settings_of(app), utcnow()
    interval = timedelta(seconds=settings.resync_interval_s)
    with get_engine(app).connect() as conn:
        platforms = dict(conn.execute(select(Store.id, Store.platform).where(Store.status == "active")).all())
        stores = list(platforms)
        states = {
            (s.store_id, s.entity): s
            for s in conn.execute(select(SyncState).where(SyncState.store_id.in_(stores))).all()
        }
    asked = 0
    for store_id in stores:
        for entity in synced_by(platforms[store_id]):
            state = states.get((store_id, entity))
            if _due(state, now, interval) and request_sync(app, store_id, entity):
                asked += 1
    return {"stores": len(stores), "enqueued": asked}


def _due(state: Any, now: Any, interval: timedelta) -> bool:
    if state is not None and state.retry_at is not None and now < state.retry_at:
        return False  # the store could not be reached: wait as long as the back-off says
    if state is None or state.state == checkpoints.RUNNING:
        return True  # never synced, or a run to carry on (request_sync skips live ones)
    return state.last_synced_at is None or now - state.last_synced_at >= interval


def _waiting(redis: Redis, job_id: str | None) -> bool:
    """The step's job will still be run by some worker: scheduled, or on its queue. A job
    RQ still calls queued but no longer on its queue was taken by a worker whose horse has
    not marked it started, and if that worker was killed, nobody ever will (RQ's own sweep
    of such jobs comes ten minutes or more later); the lease keeps a second step from
    writing while a live one is about to start."""
    if job_id is None:
        return False
    if not Job.exists(job_id, connection=redis):
        return False
    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        return get_queue(job.origin, redis).get_job_position(job_id) is not None
    return status in WAITING


def _job_id() -> str | None:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job else None
