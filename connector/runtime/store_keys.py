"""What Redis holds about one store, by the names given here: its inbox job, its cached
webhook secret, its spooled deliveries, its sync jobs and its /metrics fields.

A removed store's entries are forgotten (`forget`), so nothing outside the database
outlives it; what a Redis outage left behind is fenced where it is read (a spooled
delivery carries its store's key, a job finding no store does nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from connector import logs

log = logs.get(__name__)
SPOOL_KEY = "crm:webhook-spool"
# inbox jobs replaced, one hash field per store_id:status, read by /metrics
REPLACED_COUNTERS = "crm:metrics:inbox-jobs-replaced"
NOT_STARTED = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def inbox_job_id(store_id: int) -> str:
    return f"inbox-{store_id}"


def secret_cache_key(platform: str, store_key: str) -> str:
    """The store's id and sealed webhook secret, kept for when the database is down."""
    return f"crm:{platform}-store:{store_key}"


def forget(conn: redis.Redis, store_id: int, platform: str, store_key: str, jobs: Iterable[str]) -> int:
    """Withdraw the removed store's jobs not yet started and delete what Redis keeps about
    it; the number of entries forgotten. A job already running finds no store and stops."""
    forgotten = conn.delete(secret_cache_key(platform, store_key))
    for job_id in (inbox_job_id(store_id), *jobs):
        job = Job.fetch_many([job_id], connection=conn, serializer=JSONSerializer)[0]
        if job is not None and job.get_status(refresh=False) in NOT_STARTED:
            job.delete(remove_from_queue=True)
            forgotten += 1
    forgotten += _unspool(conn, store_id)
    fields = [f for f in conn.hkeys(REPLACED_COUNTERS) if _field(f).startswith(f"{store_id}:")]
    if fields:
        forgotten += conn.hdel(REPLACED_COUNTERS, *fields)
    log.info("removed store forgotten in redis", extra={"store_id": store_id, "entries": forgotten})
    return int(forgotten)


def _unspool(conn: redis.Redis, store_id: int) -> int:
    removed = 0
    for raw in conn.lrange(SPOOL_KEY, 0, -1):
        if json.loads(raw).get("store_id") == store_id:
            removed += int(conn.lrem(SPOOL_KEY, 1, _field(raw)))
    return removed


def _field(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
