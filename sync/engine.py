"""One step of a store's sync of one entity: read chunks, map them, write each chunk and
its checkpoint in one transaction, until the entity is done or the step's time is up.
Readers fetch their next pages while a transaction is written (`platforms/read_ahead.py`).

Only the lease holder writes (the lease is renewed inside every chunk's transaction), so
two jobs never sync the same entity of a store at once, a killed job's lease lapses, and
a step stopped by a signal rolls back its chunk and gives its lease back.
A record that cannot be mapped or written is dead-lettered with a plain reason and the
rest go on. Every step is recorded in `sync_runs`; failures are kept on the sync state in
words a merchant can read. A finished incremental run reconciles deletions when due.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import insert, select, update

import platforms
from connector import db, logs
from connector.accounts.stores import needs_reauthorisation
from connector.context import settings_of, vault_of
from connector.crm import insight_backlog, insights
from connector.db import dead_letters, get_engine
from connector.db.models import Store
from connector.db.operations import SyncRun
from connector.db.types import utcnow
from connector.errors import ConnectorError, FailPermanently, Reauthorize, RetryLater
from connector.write import refusals
from connector.write.apply import apply_isolating
from platforms.base import Batch, Chunk, MapContext, MappingError, Reader, id_or_none
from platforms.entities import CORE_ENTITIES, RECONCILED, synced_by
from sync import checkpoints, reconcile
from sync import credentials as tokens

log = logs.get(__name__)
ENTITIES = CORE_ENTITIES  # what every platform's reader syncs


def entities_of_store(app: Flask, store_id: int) -> tuple[str, ...]:
    with get_engine(app).connect() as conn:
        platform = conn.execute(select(Store.platform).where(Store.id == store_id)).scalar()
    return synced_by(str(platform))


class StoreGone(Exception):
    """The store stopped being active during the step (uninstalled, reconnect needed)."""


@dataclass
class StepResult:
    store_id: int
    entity: str
    outcome: str  # done | paused | busy | retry | failed | lost | skipped | stopped
    records: int = 0
    error: str | None = None
    waited_s: float = 0.0  # time the writer spent waiting for the platform's next chunk


OnProgress = Callable[[int, int | None], None]  # records done so far in the run, estimated total


def reader_of(app: Flask, store: Any) -> Reader:
    """The platform's reader for the store, on a token that will outlive the step."""
    credentials = vault_of(app).open(store.credentials) if store.credentials else {}
    if tokens.refresh_due(credentials) and tokens.refresh(app, store.id):
        with db.session(app) as s:
            sealed = s.get_one(Store, store.id).credentials
        credentials = vault_of(app).open(sealed) if sealed else {}
    return platforms.get(store.platform).reader_for(settings_of(app), credentials, store)


def run_step(
    app: Flask,
    store_id: int,
    entity: str,
    owner: str,
    *,
    full: bool = False,
    budget_s: float | None = None,
    on_progress: OnProgress | None = None,
) -> StepResult:
    settings = settings_of(app)
    ttl = timedelta(seconds=settings.sync_lease_s)
    opened = _open_run(app, store_id, entity, owner, ttl, full)
    if isinstance(opened, StepResult):
        return opened
    store, window, run_id = opened
    step = _Step(app, store, entity, owner, ttl, run_id, on_progress)
    try:  # from here on, whatever stops the step ends it and gives its lease back
        step.reader = reader_of(app, store)
        log.info("sync step started", extra={"store_id": store_id, "entity": entity, "run_id": run_id})
        return _sync(step, window, budget_s)
    except checkpoints.LeaseLost as exc:
        return step.end("lost", str(exc), release=False)
    except StoreGone as exc:
        return step.end("stopped", str(exc), state="failed")
    except RetryLater as exc:
        return step.end("retry", exc.reason)
    except Reauthorize as exc:
        with db.session(app) as s, s.begin():
            needs_reauthorisation(s, s.get_one(Store, store_id), f"{exc.reason}: reconnect the store")
        return step.end("failed", exc.reason, state="failed")
    except (FailPermanently, ConnectorError) as exc:
        step.dead_letter({"entity": entity}, exc.reason)
        return step.end("failed", exc.reason, state="failed")
    except Exception as exc:  # a bug or the database: say so, free the lease, let the job fail
        with contextlib.suppress(Exception):
            step.end("retry", f"an unexpected error stopped the sync: {type(exc).__name__}")
        raise
    except (KeyboardInterrupt, SystemExit):  # a stop signal: the chunk rolled back
        _end_stopped(step)
        raise


def _open_run(
    app: Flask, store_id: int, entity: str, owner: str, ttl: timedelta, full: bool
) -> tuple[Any, checkpoints.Window, int] | StepResult:
    """The store, the run's window (begun or resumed) and its `sync_runs` id, under the
    lease; or the step's result if it cannot start (the store not active, the lease held)."""
    settings = settings_of(app)
    with get_engine(app).begin() as conn:
        store = conn.execute(select(Store).where(Store.id == store_id)).first()
        if store is None or store.status != "active" or not store.credentials:
            return StepResult(store_id, entity, "skipped", error="the store is not active")
        store_wide = platforms.get(store.platform).ONE_ENTITY_AT_A_TIME
        if not checkpoints.acquire(conn, store_id, entity, owner, utcnow(), ttl, store_wide=store_wide):
            return StepResult(store_id, entity, "busy")
        window = checkpoints.begin(
            conn, store_id, entity, utcnow(), timedelta(seconds=settings.lookback_s), full
        )
        run_id = conn.execute(
            insert(SyncRun)
            .values(store_id=store_id, entity=entity, kind="sync", owner=owner)
            .returning(SyncRun.id)
        ).scalar_one()
    return store, window, run_id


def _sync(step: _Step, window: checkpoints.Window, budget_s: float | None) -> StepResult:
    """The window's chunks written until the entity is done (then its deletions reconciled,
    when due) or the step's time is up (paused)."""
    settings, store_id, entity = settings_of(step.app), step.store.id, step.entity
    deadline = time.monotonic() + budget_s if budget_s else None
    chunks = step.read(window.since, window.until, window.cursor)
    for chunk in gathered(chunks, settings.sync_write_records):
        step.write(chunk)
        if deadline is not None and time.monotonic() > deadline:
            return step.end("paused")
    with step.engine.begin() as conn:
        checkpoints.renew(conn, store_id, entity, step.owner, utcnow(), step.ttl)
        checkpoints.finish(conn, store_id, entity, utcnow())
    if (
        window.since is not None
        and entity in RECONCILED
        and reconcile.due(step.engine, store_id, entity, settings.reconcile_interval_s)
    ):
        reconcile.run(step.app, step.store, entity, step.owner, step.reader)
    return step.end("done")


def _end_stopped(step: _Step) -> None:
    """A step stopped by a signal gives its lease back at once (cron settles the insights it
    owes). One stopped inside a chunk's transaction lets its lease lapse instead: the
    interrupted connection may still hold its locks, and waiting on them could hang the stop."""
    if step.writing:
        log.warning("stopped sync step left to lapse", extra={"store_id": step.store.id})
        return
    reason = "the sync was stopped before it finished; the next run resumes it"
    for attempt in (1, 2):
        try:
            step.end("stopped", reason, settle=False)
            return
        except Exception as exc:
            log.warning(
                "stopped sync step could not end", extra={"attempt": attempt, "error": repr(exc)[:300]}
            )


class _Step:
    def __init__(
        self,
        app: Flask,
        store: Any,
        entity: str,
        owner: str,
        ttl: timedelta,
        run_id: int,
        on_progress: OnProgress | None,
    ) -> None:
        self.app, self.store, self.entity, self.owner, self.ttl = app, store, entity, owner, ttl
        self.run_id, self.on_progress = run_id, on_progress
        self.engine = get_engine(app)
        self.ctx = MapContext(country=store.country)
        self.reader: Reader  # set by run_step, where a failure to make it ends the step
        self.records = 0
        self.writing = False  # inside a chunk's transaction
        self.rules = insights.Rules.of(app)
        self.chunks: Iterator[Chunk] | None = None
        self.waited_s = 0.0  # the writer held up by the platform

    def read(self, since: Any, until: Any, cursor: str | None) -> Iterator[Chunk]:
        """The reader's chunks, the time spent waiting for each counted (closed by `end`)."""
        self.chunks = iter(self.reader.chunks(self.entity, since, until, cursor))
        while True:
            started = time.perf_counter()
            chunk = next(self.chunks, None)
            self.waited_s += time.perf_counter() - started
            if chunk is None:
                return
            yield chunk

    def write(self, chunk: Chunk) -> None:
        mapped, poison = map_records(self.reader, self.entity, chunk.records, self.ctx)
        self.writing = True
        with self.engine.begin() as conn:
            checkpoints.renew(conn, self.store.id, self.entity, self.owner, utcnow(), self.ttl)
            status = conn.execute(select(Store.status).where(Store.id == self.store.id)).scalar()
            if status != "active":  # uninstalled or disconnected meanwhile: write nothing more
                raise StoreGone(f"the store is {status or 'removed'}; its sync stopped")
            batches = [batch for _record, batch in mapped]
            refused = apply_isolating(conn, self.store.id, batches, self.rules, defer_insights=True)
            for index, exc in refused:
                poison.append((mapped[index][0], refusals.reason_for(exc)))
                _log_refusal(self.store.id, self.entity, mapped[index][0], exc)
            for record, reason in poison:
                _dead_letter(conn, self.store.id, self.entity, record, reason)
            progress = checkpoints.checkpoint(
                conn, self.store.id, self.entity, chunk.cursor, len(chunk.records), utcnow(), chunk.total
            )
        self.writing = False
        self.records += len(chunk.records)
        if self.on_progress:
            self.on_progress(progress.done, progress.known_total)

    def dead_letter(self, record: dict[str, Any], reason: str) -> None:
        with self.engine.begin() as conn:
            _dead_letter(conn, self.store.id, self.entity, record, reason)

    def end(
        self,
        outcome: str,
        error: str | None = None,
        *,
        release: bool = True,
        state: str | None = None,
        settle: bool = True,
    ) -> StepResult:
        close = getattr(self.chunks, "close", None)
        if close is not None:  # no more reading on behalf of this step (its read-ahead stops)
            close()
        waited_s = round(self.waited_s, 3)
        with self.engine.begin() as conn:
            if error is not None:
                checkpoints.fail(conn, self.store.id, self.entity, error, utcnow(), state=state)
            if outcome == "retry":  # the scheduler backs off before it tries again
                longest = timedelta(seconds=settings_of(self.app).resync_interval_s)
                checkpoints.back_off(conn, self.store.id, self.entity, utcnow(), longest)
            if release:
                checkpoints.release(conn, self.store.id, self.entity, self.owner)
            conn.execute(
                update(SyncRun)
                .where(SyncRun.id == self.run_id)
                .values(ended_at=utcnow(), records=self.records, outcome=outcome, error=error)
            )
        if settle:  # each contact the step touched, once (else cron's settling does it)
            insight_backlog.settle(self.engine, self.rules)
        log.info(
            "sync step ended",
            extra={
                "store_id": self.store.id,
                "entity": self.entity,
                "outcome": outcome,
                "records": self.records,
                "waited_s": waited_s,
            },
        )
        return StepResult(self.store.id, self.entity, outcome, self.records, error, waited_s)


def gathered(chunks: Iterable[Chunk], at_least: int) -> Iterator[Chunk]:
    """Consecutive chunks joined until they hold `at_least` records, resuming at the last
    one's cursor: fewer, larger transactions (each with its checkpoint) during a backfill.
    An empty chunk is a checkpoint the reader wants kept at once (Shopify's: the export it
    just started, which a resumed run should wait for rather than start again)."""
    held: list[Chunk] = []
    records = 0
    for chunk in chunks:
        held.append(chunk)
        records += len(chunk.records)
        if not chunk.records or records >= at_least:
            yield _joined(held)
            held, records = [], 0
    if held:
        yield _joined(held)


def _joined(chunks: list[Chunk]) -> Chunk:
    if len(chunks) == 1:
        return chunks[0]
    total = next((c.total for c in chunks if c.total is not None), None)
    return Chunk([r for c in chunks for r in c.records], chunks[-1].cursor, total)


def map_records(
    reader: Reader, entity: str, records: list[dict[str, Any]], ctx: MapContext
) -> tuple[list[tuple[dict[str, Any], Batch]], list[tuple[dict[str, Any], str]]]:
    """Each record through the pure mapper; one that cannot be read is set aside with why."""
    mapped: list[tuple[dict[str, Any], Batch]] = []
    poison: list[tuple[dict[str, Any], str]] = []
    for record in records:
        try:
            mapped.append((record, reader.map(entity, record, ctx)))
        except MappingError as exc:  # mapping is pure: this record is poison
            poison.append((record, f"the record could not be read: {exc}"))
        except Exception as exc:  # a fault of the mapper's on this record: in the log, not the reason
            poison.append(
                (record, "the record could not be read: its shape is one the connector does not know")
            )
            log.warning(
                "sync record not mapped",
                extra={
                    "entity": entity,
                    "platform_id": id_or_none(record.get("id")),
                    "error": type(exc).__name__,
                },
            )
    return mapped, poison


def _log_refusal(store_id: int, entity: str, record: dict[str, Any], error: Exception) -> None:
    log.warning(
        "sync record refused by the database",
        extra={"store_id": store_id, "entity": entity, "platform_id": id_or_none(record.get("id"))}
        | refusals.log_fields(error),
    )


def _dead_letter(conn: Any, store_id: int, entity: str, record: dict[str, Any], reason: str) -> None:
    """One open letter per record: read again and still poison, it counts another attempt."""
    platform_id = id_or_none(record.get("id"))
    dead_letters.write(conn, store_id, "sync", reason, entity=entity, platform_id=platform_id, payload=record)
    log.warning("sync record dead-lettered", extra={"store_id": store_id, "entity": entity})
