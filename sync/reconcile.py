"""Deletion reconciliation: compare the ids a platform holds with the ids we hold live.

Webhooks are hints and WooCommerce has no deletion feed, so on a schedule each store's
id sets are compared. Ids we lack (not ids we hold as tombstones, nor erased ones) are
fetched and written; ids the platform no longer
has are deleted here (a tombstone by default, or the rows removed with
CONNECTOR_DELETION_POLICY=delete), but only after they are confirmed gone when the id
list was read in offset pages that a concurrent change could shift, and never for a
record first seen after the id list was taken, or older than what the app may read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from connector import logs
from connector.context import settings_of
from connector.db import get_engine
from connector.db.operations import SyncRun
from connector.db.types import utcnow
from connector.write.apply import TABLES, apply_batch, apply_isolating
from platforms.base import Batch, MapContext, MappingError, Reader, batched, id_or_none
from platforms.entities import CHILDREN

log = logs.get(__name__)


def due(engine: Engine, store_id: int, entity: str, interval_s: int) -> bool:
    with engine.connect() as conn:
        last = conn.execute(
            select(SyncRun.ended_at)
            .where(
                SyncRun.store_id == store_id,
                SyncRun.entity == entity,
                SyncRun.kind == "reconcile",
                SyncRun.outcome == "done",
            )
            .order_by(SyncRun.ended_at.desc())
            .limit(1)
        ).scalar()
    return last is None or (utcnow() - last).total_seconds() >= interval_s


def run(app: Flask, store: Any, entity: str, owner: str, reader: Reader) -> dict[str, int]:
    engine, started = get_engine(app), utcnow()
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(SyncRun)
            .values(store_id=store.id, entity=entity, kind="reconcile", owner=owner)
            .returning(SyncRun.id)
        ).scalar_one()
    platform_ids: set[int] = set()
    for ids in reader.live_ids(entity):
        platform_ids.update(ids)
    held, deletable = _held(engine, store.id, entity, started, reader.visible_since(entity))
    candidates = deletable - platform_ids
    ctx = MapContext(country=store.country)
    fetched = _fetch(engine, store.id, reader, entity, sorted(platform_ids - held), ctx)
    if candidates and not reader.snapshot_ids:  # offset pages may have skipped some: ask again
        alive = _fetch(engine, store.id, reader, entity, sorted(candidates), ctx)
        candidates -= alive
    _delete(engine, store.id, entity, sorted(candidates), settings_of(app).deletion_policy)
    outcome = {"platform": len(platform_ids), "fetched": len(fetched), "deleted": len(candidates)}
    with engine.begin() as conn:
        conn.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(ended_at=utcnow(), records=len(fetched) + len(candidates), outcome="done")
        )
    log.info("deletions reconciled", extra={"store_id": store.id, "entity": entity, **outcome})
    return outcome


def _held(
    engine: Engine, store_id: int, entity: str, started: datetime, visible_since: datetime | None
) -> tuple[set[int], set[int]]:
    """(every id we hold, tombstones and erased records included: they are not missing; the
    live ones that may be deleted: seen before the id list was taken and created late
    enough for the app to see them)."""
    table = TABLES[entity]
    query = select(
        table.c.platform_id, table.c.first_seen_at, table.c.source_created_at, table.c.deleted_at
    ).where(table.c.store_id == store_id)
    held: set[int] = set()
    candidates: set[int] = set()
    with engine.connect() as conn:
        for pid, first_seen, created, deleted in conn.execute(query):
            held.add(pid)
            visible = visible_since is None or (created is not None and created >= visible_since)
            if deleted is None and first_seen < started and visible:
                candidates.add(pid)
    return held, candidates


def _fetch(
    engine: Engine, store_id: int, reader: Reader, entity: str, ids: list[int], ctx: MapContext
) -> set[int]:
    """Read those records and write them; the ids the platform returned. A poison record
    (one the sync has dead-lettered) is still the platform's: counted found, not written."""
    found: set[int] = set()
    if not ids:
        return found
    for chunk in reader.fetch(entity, ids):
        batches: list[Batch] = []
        for record in chunk.records:
            try:
                mapped = reader.map(entity, record, ctx)
            except MappingError:  # poison (the sync dead-lettered it): still the platform's
                if (known := id_or_none(record.get("id"))) is not None:
                    found.add(known)
                continue
            batches.append(mapped)
            found.update(r["platform_id"] for r in mapped.rows.get(entity, []))
            found.update(pid for pid, _at in mapped.deleted.get(entity, []))
        with engine.begin() as conn:
            refused = apply_isolating(conn, store_id, batches)
        if refused:
            log.warning(
                "reconcile left records refused", extra={"store_id": store_id, "refused": len(refused)}
            )
    return found


def _delete(engine: Engine, store_id: int, entity: str, ids: list[int], policy: str) -> None:
    if not ids:
        return
    now = utcnow()
    for part in batched(ids, 500):
        with engine.begin() as conn:
            if policy == "delete":
                _remove(conn, store_id, entity, list(part))
                continue
            batch = Batch()
            for pid in part:
                batch.delete(entity, pid, now)
            apply_batch(conn, store_id, batch)


def _remove(conn: Connection, store_id: int, entity: str, ids: list[int]) -> None:
    for child, (parent, column) in CHILDREN.items():
        if parent == entity:
            table = TABLES[child]
            conn.execute(delete(table).where(table.c.store_id == store_id, table.c[column].in_(ids)))
    table = TABLES[entity]
    conn.execute(delete(table).where(table.c.store_id == store_id, table.c.platform_id.in_(ids)))
