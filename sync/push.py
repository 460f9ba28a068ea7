"""Pushing an account's contacts and orders to one destination: drain the outbox's marks
a batch at a time (contacts first, so orders can name their contact), upsert what the store
holds, archive what it no longer holds (merged away, deleted, erased), note each record's id
there and state, and remove the marks delivered — in one transaction per batch, so a push
killed midway resumes from the marks left. Then opt-outs made in the CRM come back into the
consent ledger. A refused record is a dead letter with the CRM's reason; the rest go on; a
revoked token marks the destination "needs reconnect"; an access token the CRM renewed during
the push is kept sealed in place of the old one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from redis.exceptions import LockNotOwnedError, RedisError
from sqlalchemy import delete, select, update

import destinations
from connector import logs
from connector.context import settings_of, vault_of
from connector.crm import destination_outbox, insights
from connector.db import get_engine
from connector.db.operations import Destination, DestinationMark
from connector.errors import FailPermanently, Reauthorize, RetryLater
from connector.runtime import waiting
from connector.runtime.queue import enqueue, get_redis
from connector.runtime.signals import deferred_stops
from destinations.pacing import Pacing
from sync import push_batch, push_optouts

log = logs.get(__name__)
LOCK_S = 120
# a push job's time at most in a worker: past a Bulk job's 30-minute give-up, several times over
# (RQ's default, 180 s, would kill a push polling a long Bulk job, whose rows the next one resends)
PUSH_JOB_S = 6 * 3600

Progress = Callable[[str, int, int], None]  # object, done, total


@dataclass
class Summary:
    destination_id: int
    pushed: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    erased: int = 0
    optouts: int = 0
    outcome: str = "done"  # done | retry | needs_reconnect | busy
    reason: str | None = None
    pacing: dict[str, Any] = field(default_factory=dict)


def push(app: Flask, destination_id: int, *, full: bool = False, progress: Progress | None = None) -> Summary:
    """Push everything marked for the destination (every record of the account, with `full`)."""
    summary = Summary(destination_id)
    key = f"crm:push:{destination_id}"
    lock = get_redis(app).lock(key, timeout=LOCK_S, blocking=False, thread_local=False)
    if not lock.acquire():
        summary.outcome = "busy"
        return summary
    try:
        with _kept(lock):
            _push_locked(app, destination_id, full, progress, summary, lock)
    finally:
        if lock.owned():
            lock.release()
    return summary


@contextmanager
def _kept(lock: Any) -> Iterator[None]:
    """The push's lock renewed every quarter of LOCK_S while the push runs, so a batch the CRM
    takes minutes over (a Bulk job polled) keeps it; a killed worker stops renewing, and the
    lock runs out. A lock lost meanwhile is the push's own renewal's to find; Redis unreachable
    for a beat is tried again at the next."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(LOCK_S / 4):
            try:
                lock.reacquire()
            except LockNotOwnedError:
                return
            except RedisError:
                log.info("push lock not renewed; trying again", extra={"lock": lock.name})

    beat = threading.Thread(target=renew, name="push-lock", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()


def _push_locked(
    app: Flask, destination_id: int, full: bool, progress: Progress | None, summary: Summary, lock: Any
) -> None:
    engine = get_engine(app)
    with deferred_stops(), engine.begin() as conn:  # a stop waits for the database, as in push_batch
        dest = conn.execute(select(Destination.__table__).where(Destination.id == destination_id)).one()
        if full:
            destination_outbox.mark_everything(conn, dest.id, dest.account_id)
    kind = destinations.get(dest.kind)
    pacing = Pacing(backoff_s=settings_of(app).push_backoff_ms / 1000)
    session = kind.open_session(vault_of(app).open(dest.credentials), None, pacing)
    run = push_batch.Run(engine, dest, kind, session, insights.Rules.of(app), summary)
    try:
        session.prepare()
        for obj in kind.OBJECTS:
            run.drain(obj, progress, lock.reacquire)
        summary.optouts = push_optouts.read_optouts(engine, dest, session)
        _set_status(app, destination_id, "active", None)
    except Reauthorize as exc:
        summary.outcome, summary.reason = "needs_reconnect", exc.reason
        _set_status(app, destination_id, "needs_reconnect", exc.reason)
        log.info("destination needs reconnect", extra={"destination_id": destination_id})
    except RetryLater as exc:
        summary.outcome, summary.reason = "retry", exc.reason
        log.info("destination push paused", extra={"destination_id": destination_id})
    except FailPermanently as exc:  # shown where the merchant looks until a push gets past it
        _set_status(app, destination_id, "needs_attention", exc.reason)
        raise
    finally:
        summary.pacing = {
            "calls": pacing.calls,
            "retries": pacing.retries,
            "waited_s": round(pacing.waited_s, 3),
        }
        _keep_renewed(app, destination_id, session.renewed())
        session.close()


def _keep_renewed(app: Flask, destination_id: int, renewed: dict[str, Any] | None) -> None:
    """Credentials the CRM issued anew during the push (HubSpot's renewed access token), sealed."""
    if renewed is None:
        return
    with deferred_stops(), get_engine(app).begin() as conn:
        conn.execute(
            update(Destination)
            .where(Destination.id == destination_id)
            .values(credentials=vault_of(app).seal(renewed))
        )


def _set_status(app: Flask, destination_id: int, status: str, reason: str | None) -> None:
    with deferred_stops(), get_engine(app).begin() as conn:
        conn.execute(
            update(Destination)
            .where(Destination.id == destination_id)
            .values(status=status, status_reason=reason)
        )


def push_job(destination_id: int) -> dict[str, Any]:
    """The RQ job: one destination's push."""
    summary = push(current_app, destination_id)
    extra = {"destination_id": destination_id, "outcome": summary.outcome}
    if summary.outcome in ("needs_reconnect", "retry"):  # the CLI says it in its own line instead
        log.warning("destination push stopped short", extra=extra | {"reason": summary.reason})
    else:
        log.info("destination pushed", extra=extra)
    return {"outcome": summary.outcome, "pushed": summary.pushed, "refused": summary.refused}


def push_all(now: float | None = None) -> int:
    """Cron: a push job for each destination with marks waiting (none twice at once); one a
    killed worker left "started", or one that failed, is replaced. `now`: the clock, unix s."""
    engine, redis = get_engine(), get_redis()
    with engine.connect() as conn:
        waiting_marks = list(
            conn.execute(
                select(Destination.id)
                .where(Destination.status == "active")
                .where(
                    select(DestinationMark.id)
                    .where(DestinationMark.destination_id == Destination.id)
                    .exists()
                )
            ).scalars()
        )
    return sum(request_push(redis, destination_id, now) for destination_id in waiting_marks)


def request_push(redis: Any, destination_id: int, now: float | None = None) -> bool:
    """Enqueue the destination's push job unless one truly waits; whether one was enqueued."""
    job_id = f"push-{destination_id}"
    with redis.pipeline(transaction=False) as pipe:
        asked = waiting.ask(pipe, "sync", job_id, now=now)
        reply = pipe.execute(raise_on_error=False)[0]
    found = waiting.answer(redis, asked, reply)
    if found == waiting.WAITING:
        return False
    if found != waiting.ABSENT:
        log.warning("push job replaced", extra={"destination_id": destination_id, "job_status": found})
    enqueue(
        redis,
        "sync",
        "sync.push.push_job",
        destination_id,
        job_id=job_id,
        result_ttl=0,
        job_timeout=PUSH_JOB_S,
    )
    return True


def forget_marks(conn: Any, destination_id: int) -> None:
    conn.execute(delete(DestinationMark).where(DestinationMark.destination_id == destination_id))
