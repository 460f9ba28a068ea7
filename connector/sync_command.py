"""`crm-connector sync STORE`: sync a store now, in this process, with a progress bar.

It runs the same steps the workers run (same lease, checkpoints and dead letters), so it
never races a worker on the same entity: if one holds the lease, it waits its turn. It
returns when every asked-for entity is done, or exits 1 naming the one that failed.
"""

from __future__ import annotations

import secrets
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from connector import db, queue, settings_of, stores
from connector.errors import ConnectorError
from platforms import SYNCED
from sync.engine import OnProgress, StepResult, entities_of_store, run_step

BUSY_WAIT_S = 1.0
MAX_RETRIES = 8


@click.command("sync")
@click.argument("store_ref")
@click.option("--entity", type=click.Choice(SYNCED["shopify"]), help="only this entity (default: all)")
@click.option("--full", is_flag=True, help="re-read everything, not just what changed")
@with_appcontext
def sync_command(store_ref: str, entity: str | None, full: bool) -> None:
    """Sync STORE (its id or domain) now and return when it is done."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    db.ensure_schema(db.get_engine(app), auto_upgrade=settings_of(app).embedded_database)
    try:
        with db.session(app) as s:
            store = stores.find_store(s, store_ref)
            store_id, label = store.id, f"{store.platform} {store.domain}"
    except ConnectorError as exc:
        raise click.UsageError(exc.reason) from None
    entities = [entity] if entity else list(entities_of_store(app, store_id))
    failed = sync_with_progress(app, [(store_id, label)], entities, full)
    for line in failed:
        click.echo(f"crm-connector: sync of {line}", err=True)
    if failed:
        sys.exit(1)
    click.echo(f"store {store_id} synced: {', '.join(entities)}")


def sync_with_progress(
    app: Flask, targets: list[tuple[int, str]], entities: list[str] | None = None, full: bool = False
) -> list[str]:
    """Sync each store's entities (all its platform has, unless named) in this process, one
    progress bar each; what failed, in words."""
    owner = f"cli-{secrets.token_hex(6)}"
    queue.tune_gc_for_batches()  # this process does a worker's job, so collect as a worker does
    failed = []
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10}"),
        TimeRemainingColumn(),
        transient=not sys.stdout.isatty(),
    ) as bars:
        for store_id, label in targets:
            for name in entities or entities_of_store(app, store_id):
                task = bars.add_task(f"{label[:24]} {name}", total=None, rate="")
                started = time.monotonic()

                def show(done: int, total: int | None, task: TaskID = task, started: float = started) -> None:
                    rate = done / max(time.monotonic() - started, 1e-6)
                    bars.update(task, completed=done, total=total, rate=f"{rate:,.0f}/s")

                result = _until_done(app, store_id, name, owner, full, show)
                finished = bars.tasks[task].completed or 1
                bars.update(task, total=finished, completed=finished)
                if result.outcome != "done":
                    failed.append(f"{label} {name}: {result.error or result.outcome}")
    return failed


def _until_done(
    app: Flask, store_id: int, entity: str, owner: str, full: bool, show: OnProgress
) -> StepResult:
    retries = 0
    while True:
        result = run_step(app, store_id, entity, owner, full=full, on_progress=show)
        if result.outcome == "busy":  # a worker is on it: wait for the lease
            time.sleep(BUSY_WAIT_S)
            continue
        if result.outcome == "retry" and retries < MAX_RETRIES:  # the platform asked us to wait
            retries += 1
            time.sleep(min(BUSY_WAIT_S * 2**retries, 60))
            full = False  # the run resumes where it stopped
            continue
        return result
