"""`crm-connector sync STORE`: sync a store now, in this process, with a progress bar.

It runs the same steps the workers run (same lease, checkpoints and dead letters), so it
never races a worker on the same entity: if one holds the lease, it waits its turn. A
store that cannot be reached is said so on the progress line at once, with the reason;
the command keeps trying for `--wait` seconds, then exits 1 naming the entity, the
reason and when the scheduler tries again (the background retries carry on).
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable

import click
from flask import Flask, current_app
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from connector import db, logs
from connector.accounts import stores
from connector.cli.support import on_existing_database
from connector.context import settings_of
from connector.db.operations import SyncState
from connector.errors import BadInput
from connector.runtime import queue
from platforms import entities
from sync.engine import OnProgress, StepResult, entities_of_store, run_step

BUSY_WAIT_S = 1.0
DEFAULT_WAIT_S = 60


@click.command("sync")
@click.argument("store_ref")
@click.option(
    "--entity",
    type=click.Choice(tuple(e.name for e in entities.ENTITIES if e.synced_by)),
    help="only this entity (default: all)",
)
@click.option("--full", is_flag=True, help="re-read everything, not just what changed")
@click.option(
    "--wait",
    default=DEFAULT_WAIT_S,
    show_default=True,
    type=click.IntRange(0),
    help="seconds to keep retrying a store that cannot be reached before giving up",
)
@on_existing_database
def sync_command(store_ref: str, entity: str | None, full: bool, wait: int) -> None:
    """Sync STORE (its id or domain) now and return when it is done."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    db.ensure_schema(db.get_engine(app), auto_upgrade=settings_of(app).embedded_database)
    with db.session(app) as s:
        store = stores.find_store(s, store_ref)
        store_id, label = store.id, f"{store.platform} {store.domain}"
    synced = list(entities_of_store(app, store_id))
    if entity and entity not in synced:
        raise BadInput(
            f"--entity: a {store.platform} store does not sync {entity}; choose {', '.join(synced)}"
        )
    entities = [entity] if entity else synced
    failed = sync_with_progress(app, [(store_id, label)], entities, full, wait_s=wait)
    for line in failed:
        click.echo(f"crm-connector: sync of {line}", err=True)
    if failed:
        sys.exit(1)
    click.echo(f"store {store_id} synced: {', '.join(entities)}")


def sync_with_progress(
    app: Flask,
    targets: list[tuple[int, str]],
    entities: list[str] | None = None,
    full: bool = False,
    wait_s: float = DEFAULT_WAIT_S,
) -> list[str]:
    """Sync each store's entities (all its platform has, unless named) in this process, one
    progress bar each; what failed, in words. A store that stays out of reach for `wait_s`
    seconds is given up (its other entities are not tried)."""
    owner = f"cli-{secrets.token_hex(6)}"
    queue.tune_gc_for_batches()  # this process does a worker's job, so collect as a worker does
    failed = []
    console = logs.terminal()  # the log lines' console, so they print above the bars
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10}"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
        disable=not console.is_terminal,  # bars only on a terminal; scripts get the result lines
    ) as bars:
        for store_id, label in targets:
            unreachable: str | None = None
            for name in entities or entities_of_store(app, store_id):
                if unreachable is not None:
                    failed.append(f"{label} {name}: not tried, {unreachable}")
                    continue
                task = bars.add_task(f"{label[:24]} {name}", total=None, rate="", note="")
                started = time.monotonic()

                def show(done: int, total: int | None, task: TaskID = task, started: float = started) -> None:
                    rate = done / max(time.monotonic() - started, 1e-6)
                    bars.update(task, completed=done, total=total, rate=f"{rate:,.0f}/s", note="")

                def note(text: str, task: TaskID = task) -> None:
                    bars.update(task, note=text)

                result = _until_done(app, store_id, name, owner, full, show, note, time.monotonic() + wait_s)
                if result.outcome == "done":
                    finished = bars.tasks[task].completed or 1
                    bars.update(task, total=finished, completed=finished)
                else:
                    note(f"stopped: {result.error or result.outcome}")
                if result.outcome == "retry":
                    unreachable = f"the store could not be reached in {wait_s:g} s (--wait)"
                    failed.append(f"{label} {name}: {result.error}; {_gave_up(app, store_id, name, wait_s)}")
                elif result.outcome != "done":
                    failed.append(f"{label} {name}: {result.error or result.outcome}")
    return failed


def _until_done(
    app: Flask,
    store_id: int,
    entity: str,
    owner: str,
    full: bool,
    show: OnProgress,
    note: Callable[[str], None],
    deadline: float,
) -> StepResult:
    retries = 0
    while True:
        result = run_step(app, store_id, entity, owner, full=full, on_progress=show)
        if result.outcome == "busy":  # a worker is on it: wait for the lease
            time.sleep(BUSY_WAIT_S)
            continue
        left = deadline - time.monotonic()
        if result.outcome == "retry" and left > 0:  # unreachable, or the platform asked us to wait
            pause = min(BUSY_WAIT_S * 2**retries, 30.0, left)
            note(f"{result.error}; trying again in {pause:.0f} s")
            retries += 1
            time.sleep(pause)
            full = False  # the run resumes where it stopped
            continue
        return result


def _gave_up(app: Flask, store_id: int, entity: str, wait_s: float) -> str:
    with db.get_engine(app).connect() as conn:
        at = conn.execute(
            select(SyncState.retry_at).where(SyncState.store_id == store_id, SyncState.entity == entity)
        ).scalar_one_or_none()
    then = f" from {at:%H:%M:%S} UTC" if at else ""
    return f"gave up after {wait_s:g} s (--wait); the scheduled sync tries again{then} (worker and cron)"
