"""Where a store's sync of one entity stands, written in the same transaction as each page.

A run fixes its signpost (its start time) once; every page moves the cursor and the
counts; a crashed run resumes from its last committed page with the same signpost, so
it neither skips nor repeats a window. Finishing moves the high-water mark to the
signpost; the next run re-reads from `high_water - lookback`, so late writes are caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from connector.db.models import Store
from connector.db.operations import SyncState
from connector.db.progress import Progress
from connector.db.upsert import dialect_insert

RUNNING = "running"


@dataclass(frozen=True)
class Window:
    """What a run reads: records updated after `since` (None: everything) up to `until`."""

    since: datetime | None
    until: datetime
    cursor: str | None  # where a resumed run picks up


RETRY_FIRST = timedelta(seconds=30)  # the scheduler's first wait for a store it could not reach


def begin(
    conn: Connection, store_id: int, entity: str, now: datetime, lookback: timedelta, full: bool = False
) -> Window:
    """Start a run, or resume the one a crash interrupted (same signpost, same cursor).
    A backfill (`full`, or nothing synced yet) reads everything up to its signpost."""
    ensure(conn, store_id, entity, now)
    state = conn.execute(
        select(SyncState).where(SyncState.store_id == store_id, SyncState.entity == entity)
    ).one()
    if state.state == RUNNING and state.signpost is not None:
        since = None if state.phase == "backfill" else _since(state.high_water, lookback)
        return Window(since, state.signpost, state.cursor)
    backfill = full or state.high_water is None
    conn.execute(
        update(SyncState)
        .where(SyncState.id == state.id)
        .values(
            state=RUNNING,
            signpost=now,
            started_at=now,
            cursor=None,
            done=0,
            total_estimate=None,
            last_error=None,
            updated_at=now,
            phase="backfill" if backfill else "incremental",
        )
    )
    return Window(None if backfill else _since(state.high_water, lookback), now, None)


def ensure(conn: Connection, store_id: int, entity: str, now: datetime) -> None:
    conn.execute(
        dialect_insert(conn, SyncState.__table__)
        .values(
            store_id=store_id,
            entity=entity,
            phase="pending",
            state="idle",
            done=0,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["store_id", "entity"])
    )


# --- the lease: one writer per store and entity ------------------------------------------------


class LeaseLost(Exception):
    """Another job holds this store's sync of the entity now (ours lapsed): stop, write nothing."""


def _ours(store_id: int, entity: str) -> Any:
    return and_(SyncState.store_id == store_id, SyncState.entity == entity)


def acquire(
    conn: Connection,
    store_id: int,
    entity: str,
    owner: str,
    now: datetime,
    ttl: timedelta,
    *,
    store_wide: bool = False,
) -> bool:
    """Take the lease if it is free, lapsed, or already ours. On PostgreSQL the row lock
    makes a concurrent taker wait and then see it taken; SQLite serialises writers.

    `store_wide`: also only while no other entity of the store holds a live lease (a
    platform whose request limit is per store, not per job). On PostgreSQL takers of one
    store queue on its row first (FOR NO KEY UPDATE, which foreign-key checks pass)."""
    if store_wide and conn.dialect.name == "postgresql":
        conn.execute(select(Store.id).where(Store.id == store_id).with_for_update(key_share=True))
    ensure(conn, store_id, entity, now)
    free = or_(SyncState.lease_until.is_(None), SyncState.lease_until < now, SyncState.lease_owner == owner)
    conditions = [_ours(store_id, entity), free]
    if store_wide:
        other = aliased(SyncState)
        conditions.append(
            ~exists().where(
                other.store_id == store_id,
                other.entity != entity,
                other.lease_owner != owner,
                other.lease_until >= now,
            )
        )
    taken = conn.execute(
        update(SyncState).where(*conditions).values(lease_owner=owner, lease_until=now + ttl)
    ).rowcount
    return bool(taken)


def renew(conn: Connection, store_id: int, entity: str, owner: str, now: datetime, ttl: timedelta) -> None:
    """In each page's transaction, before anything is written: still ours, for `ttl` more."""
    kept = conn.execute(
        update(SyncState)
        .where(_ours(store_id, entity), SyncState.lease_owner == owner)
        .values(lease_until=now + ttl)
    ).rowcount
    if not kept:
        raise LeaseLost(f"store {store_id} {entity}: the lease passed to another job")


def release(conn: Connection, store_id: int, entity: str, owner: str) -> None:
    conn.execute(
        update(SyncState)
        .where(_ours(store_id, entity), SyncState.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def _since(high_water: datetime | None, lookback: timedelta) -> datetime | None:
    return high_water - lookback if high_water else None


def checkpoint(
    conn: Connection,
    store_id: int,
    entity: str,
    cursor: str | None,
    records: int,
    now: datetime,
    total_estimate: int | None = None,
) -> Progress:
    """After a page: the cursor to resume from and the progress so far (same transaction).
    Returns the run's progress as now written."""
    state = conn.execute(
        select(SyncState.done, SyncState.started_at, SyncState.total_estimate).where(
            SyncState.store_id == store_id, SyncState.entity == entity
        )
    ).one()
    done = state.done + records
    elapsed = (now - state.started_at).total_seconds() if state.started_at else 0.0
    rate = done / elapsed if elapsed > 0 else None
    values = {"cursor": cursor, "done": done, "updated_at": now, "rate_per_s": rate}
    if total_estimate is not None:
        values["total_estimate"] = total_estimate
    conn.execute(
        update(SyncState).where(SyncState.store_id == store_id, SyncState.entity == entity).values(**values)
    )
    return Progress(done, total_estimate if total_estimate is not None else state.total_estimate, rate)


def finish(conn: Connection, store_id: int, entity: str, now: datetime) -> None:
    """The run read everything up to its signpost: that is the new high-water mark."""
    conn.execute(
        update(SyncState)
        .where(SyncState.store_id == store_id, SyncState.entity == entity)
        .values(
            state="done",
            high_water=SyncState.signpost,
            cursor=None,
            last_synced_at=now,
            updated_at=now,
            last_error=None,
            retry_at=None,
            retries=0,
        )
    )


def back_off(conn: Connection, store_id: int, entity: str, now: datetime, longest: timedelta) -> datetime:
    """The store could not be reached: the scheduler tries again after a wait that doubles
    with each such try in a row (30 s, 1 min, 2 min, …, at most `longest`); when that is."""
    retries = conn.execute(
        select(SyncState.retries).where(SyncState.store_id == store_id, SyncState.entity == entity)
    ).scalar_one_or_none()
    wait = min(RETRY_FIRST * 2 ** min(retries or 0, 16), longest)
    at = now + wait
    conn.execute(
        update(SyncState)
        .where(SyncState.store_id == store_id, SyncState.entity == entity)
        .values(retry_at=at, retries=SyncState.retries + 1)
    )
    return at


def fail(
    conn: Connection, store_id: int, entity: str, reason: str, now: datetime, state: str | None = None
) -> None:
    """Keep the signpost and cursor (a retry resumes); say why in plain words. With
    `state="failed"` the run stops until it is retried (a new run starts then)."""
    values: dict[str, Any] = {"last_error": reason, "updated_at": now}
    if state is not None:
        values["state"] = state
    conn.execute(
        update(SyncState).where(SyncState.store_id == store_id, SyncState.entity == entity).values(**values)
    )


def progress(conn: Connection, store_id: int, entity: str) -> Progress | None:
    row = conn.execute(
        select(SyncState.done, SyncState.total_estimate, SyncState.rate_per_s).where(
            SyncState.store_id == store_id, SyncState.entity == entity
        )
    ).first()
    return Progress(row.done, row.total_estimate, row.rate_per_s) if row else None
