"""Where a store's sync of one entity stands, written in the same transaction as each page.

A run fixes its signpost (its start time) once; every page moves the cursor and the
counts; a crashed run resumes from its last committed page with the same signpost, so
it neither skips nor repeats a window. Finishing moves the high-water mark to the
signpost; the next run re-reads from `high_water - lookback`, so late writes are caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from connector.models import SyncState
from connector.upsert import dialect_insert

RUNNING = "running"


@dataclass(frozen=True)
class Window:
    """What a run reads: records updated after `since` (None: everything) up to `until`."""

    since: datetime | None
    until: datetime
    cursor: str | None  # where a resumed run picks up


def begin(conn: Connection, store_id: int, entity: str, now: datetime, lookback: timedelta) -> Window:
    """Start a run, or resume the one a crash interrupted (same signpost, same cursor)."""
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
    state = conn.execute(
        select(SyncState).where(SyncState.store_id == store_id, SyncState.entity == entity)
    ).one()
    if state.state == RUNNING and state.signpost is not None:
        return Window(_since(state.high_water, lookback), state.signpost, state.cursor)
    conn.execute(
        update(SyncState)
        .where(SyncState.id == state.id)
        .values(
            state=RUNNING,
            signpost=now,
            started_at=now,
            cursor=None,
            done=0,
            last_error=None,
            updated_at=now,
            phase="incremental" if state.high_water else "backfill",
        )
    )
    return Window(_since(state.high_water, lookback), now, None)


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
) -> None:
    """After a page: the cursor to resume from and the progress so far (same transaction)."""
    state = conn.execute(
        select(SyncState.done, SyncState.started_at).where(
            SyncState.store_id == store_id, SyncState.entity == entity
        )
    ).one()
    done = state.done + records
    elapsed = (now - state.started_at).total_seconds() if state.started_at else 0.0
    values = {
        "cursor": cursor,
        "done": done,
        "updated_at": now,
        "rate_per_s": done / elapsed if elapsed > 0 else None,
    }
    if total_estimate is not None:
        values["total_estimate"] = total_estimate
    conn.execute(
        update(SyncState).where(SyncState.store_id == store_id, SyncState.entity == entity).values(**values)
    )


def finish(conn: Connection, store_id: int, entity: str, now: datetime) -> None:
    """The run read everything up to its signpost: that is the new high-water mark."""
    conn.execute(
        update(SyncState)
        .where(SyncState.store_id == store_id, SyncState.entity == entity)
        .values(state="done", high_water=SyncState.signpost, cursor=None, last_synced_at=now, updated_at=now)
    )


def fail(conn: Connection, store_id: int, entity: str, reason: str, now: datetime) -> None:
    """Keep the signpost and cursor (a retry resumes); say why in plain words."""
    conn.execute(
        update(SyncState)
        .where(SyncState.store_id == store_id, SyncState.entity == entity)
        .values(last_error=reason, updated_at=now)
    )


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    rate_per_s: float | None

    @property
    def eta_s(self) -> float | None:
        if self.total is None or not self.rate_per_s:
            return None
        return max(self.total - self.done, 0) / self.rate_per_s


def progress(conn: Connection, store_id: int, entity: str) -> Progress | None:
    row = conn.execute(
        select(SyncState.done, SyncState.total_estimate, SyncState.rate_per_s).where(
            SyncState.store_id == store_id, SyncState.entity == entity
        )
    ).first()
    return Progress(row.done, row.total_estimate, row.rate_per_s) if row else None
