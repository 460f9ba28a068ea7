"""The worker and cron roles as long-running processes: they outlive a Redis outage.

RQ's work loop and cron scheduler end when Redis stops answering; each role runs its loop
again once Redis is back (a ping, retried with capped exponential backoff and jitter,
logged with one constant message), so a restart or fail-over of Redis never takes the
workers or cron down. Only a stop signal, or an emptied queue in burst mode, ends them; a
burst worker that cannot reach Redis as it starts fails at once, as a one-shot command does.
"""

from __future__ import annotations

import itertools
import time

import redis
from redis.backoff import ExponentialWithJitterBackoff

from connector import logs
from connector.runtime import signals
from connector.runtime.queue import QUEUES, make_worker

log = logs.get(__name__)
RECONNECT_CAP_S = 10.0
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)


def work(connection: redis.Redis, queues: tuple[str, ...] = QUEUES, *, burst: bool, simple: bool) -> None:
    """Process jobs until a stop signal (or, in burst mode, until the queues are empty)."""
    signals.children_die_with_this_process()  # the work horse and RQ's scheduler never outlive us
    while True:
        worker = None
        failure: Exception | None = None
        try:
            worker = make_worker(connection, queues, simple=simple)  # RQ asks Redis already
            worker.work(burst=burst, with_scheduler=True)
        except REDIS_DOWN as exc:
            if burst and worker is None:
                raise  # a one-shot run says so at once (one line, exit 2) instead of waiting
            failure = exc
        if worker is not None and (worker.stop_signalled or (burst and worker.drained and not failure)):
            return
        signals.stop_on_signals()  # RQ's handlers belong to the loop that ended
        if worker is not None and worker.horse_pid:
            worker.wait_for_horse()  # the job it ran ends on its own; then a new loop
        wait_for_redis(connection, "worker", failure)


def cron(connection: redis.Redis) -> None:
    """Run the schedule until a stop signal; a Redis outage pauses it."""
    from sync.cron import make_scheduler

    while True:
        try:
            make_scheduler(connection).start()  # returns on SIGINT or SIGTERM
            return
        except REDIS_DOWN as exc:
            signals.stop_on_signals()
            wait_for_redis(connection, "cron", exc)


def wait_for_redis(connection: redis.Redis, role: str, failure: Exception | None) -> None:
    """Wait, then ping Redis, each wait longer (up to RECONNECT_CAP_S), until it answers."""
    backoff = ExponentialWithJitterBackoff(cap=RECONNECT_CAP_S, base=0.5)
    error = type(failure).__name__ if failure else "the loop ended"
    for attempt in itertools.count(1):
        delay = backoff.compute(attempt)
        log.warning(
            "redis unavailable; reconnecting",
            extra={"role": role, "attempt": attempt, "retry_in_s": round(delay, 2), "error": error},
        )
        time.sleep(delay)
        try:
            connection.ping()
        except REDIS_DOWN as exc:
            error = type(exc).__name__
            continue
        log.info("redis reachable; resuming", extra={"role": role, "attempts": attempt})
        return
