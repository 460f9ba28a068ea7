"""`crm-connector destinations …`: connect a CRM to an account (its credentials checked
first: refused, nothing is saved), list them with their per-object counts, push now with a
progress bar, check the fields the connector needs, and remove one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

import destinations as kinds
from connector import db
from connector.accounts import destinations, stores
from connector.cli.support import app_context, ready, the_app
from connector.context import vault_of
from connector.errors import BadInput
from connector.runtime import queue, signals

commands = click.Group("destinations", help="Connect, list, push to and remove CRM destinations.")


@commands.command("add-hubspot")
@click.option("--account", required=True, help="the merchant account whose contacts and orders go there")
@click.option("--token", required=True, help="a HubSpot private-app access token (pat-…)")
@click.option("--api-url", default=None, help="HubSpot's API address (default https://api.hubapi.com)")
def add_hubspot(account: str, token: str, api_url: str | None) -> None:
    """Connect HubSpot with a private-app token (scopes: crm.objects.contacts.read/write,
    crm.objects.orders.read/write, crm.objects.line_items.read/write, crm.schemas.contacts.write,
    crm.schemas.orders.write)."""
    connect(account, "hubspot", lambda: {"token": token}, api_url=api_url)


@commands.command("reconnect-hubspot")
@click.argument("destination")
@click.option("--token", required=True, help="the private app's new access token")
def reconnect_hubspot(destination: str, token: str) -> None:
    """Give a destination that needs reconnecting its new token (checked first); marks kept."""
    reconnect(destination, "hubspot", lambda kept: {"token": token}, url_key="base_url")


def connect(
    account: str,
    kind: str,
    given: Callable[[], dict[str, str]],
    api_url: str | None = None,
    shown: str | None = None,
) -> None:
    """`add-<kind>`: the account named and known, then `given()` checked with the CRM (refused,
    nothing is saved), then the destination added; the line names its credentials' `shown`."""
    name = account.strip()
    if not name:
        raise BadInput("--account: name the merchant account (`stores list` shows each store's)")
    fields = given()
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            stores.existing_account(s, name)  # a typo is refused before the CRM is asked
        credentials = kinds.get(kind).check(fields, api_url)
        with db.session(app) as s, s.begin():
            dest_id = destinations.add(s, vault_of(app), account=name, kind=kind, credentials=credentials).id
    where = f" at {credentials[shown]}" if shown else ""
    click.echo(f"destination {dest_id} connected: {kind}{where} (account {name!r})")


def reconnect(
    destination: str,
    kind: str,
    given: Callable[[dict[str, Any]], dict[str, Any]],
    url_key: str | None = None,
) -> None:
    """`reconnect-<kind>`: `given(kept credentials)` checked with the CRM (at the kept `url_key`
    address, if any), then the destination's credentials replaced; its marks are kept."""
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            dest = destinations.find(s, destination)
            if dest.kind != kind:
                raise BadInput(f"destination {destination} is {dest.kind}, not {kind}")
            kept = vault_of(app).open(dest.credentials)
        credentials = kinds.get(kind).check(given(kept), kept.get(url_key) if url_key else None)
        with db.session(app) as s, s.begin():
            destinations.reconnect(s, vault_of(app), destinations.find(s, destination), credentials)
    click.echo(f"destination {destination} reconnected; `destinations push {destination}` sends what waited")


@commands.command("list")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
def list_destinations(as_json: bool) -> None:
    """List destinations with their per-object pushed, pending and failed counts."""
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            rows = destinations.describe(s, destinations.every(s))
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo(
            "no destinations yet: `crm-connector destinations add-hubspot`, `add-salesforce` "
            "or `add-zoho` (--help)"
        )
    for r in rows:
        counts = ", ".join(
            f"{o} {c['pushed']:,} pushed / {c['pending']:,} pending / {c['failed']:,} failed"
            for o, c in r["objects"].items()
        )
        click.echo(f"{r['id']:>4}  {r['kind']:<10} {r['account'] or '':<20} {r['status']:<16} {counts}")
        if r["status_reason"]:
            click.echo(f"      {r['status_reason']}")


@commands.command("push")
@click.argument("destination")
@click.option(
    "--full", is_flag=True, help="push every contact and order of the account, not only what changed"
)
def push_destination(destination: str, full: bool) -> None:
    """Push now, in this process; returns when done."""
    from sync.push import push

    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            dest_id = destinations.find(s, destination).id
        queue.tune_gc_for_batches()  # this process does a worker's job, so collect as a worker does
        settled: dict[str, tuple[int, int]] = {}
        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        tasks: dict[str, TaskID] = {}

        def show(obj: str, done: int, total: int) -> None:
            if not tasks:
                bar.start()  # shown from the first batch settled: a push refused at once prints no empty bar
            if obj not in tasks:
                tasks[obj] = bar.add_task(obj, total=total)
            bar.update(tasks[obj], completed=done, total=total)
            settled[obj] = (done, total)

        try:
            summary = push(app, dest_id, full=full, progress=show)
        except (KeyboardInterrupt, signals.Stopped):
            _stop(bar)
            _say_stopped(dest_id, settled)
            raise
        finally:
            _stop(bar)
    pushed = ", ".join(f"{o} {n:,}" for o, n in summary.pushed.items() if n) or "nothing"
    refused = sum(summary.refused.values())
    if summary.outcome == "done" or pushed != "nothing" or refused or summary.erased:
        click.echo(
            f"destination {dest_id}: pushed {pushed}; refused {refused}; erased {summary.erased}; "
            f"opt-outs read back {summary.optouts}"
        )
    if summary.outcome == "busy":
        raise BadInput(f"destination {dest_id} is being pushed by another process; try again when it ends")
    if summary.outcome != "done":
        raise BadInput(f"destination {dest_id}: {summary.reason}")


def _stop(bar: Progress) -> None:
    """The bar stopped once, if shown: rich writes an empty line on stopping one never started."""
    if bar.live.is_started:
        bar.stop()


def _say_stopped(dest_id: int, settled: dict[str, tuple[int, int]]) -> None:
    so_far = ", ".join(f"{o} {d:,} of {t:,}" for o, (d, t) in settled.items()) or "nothing"
    said = f"destination {dest_id}: stopped; settled {so_far}; the rest stays marked for the next push"
    click.echo(said, err=True)


@commands.command("check")
@click.argument("destination")
def check_destination(destination: str) -> None:
    """Check the credentials and the custom fields the connector needs there."""
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            dest = destinations.find(s, destination)
            kind, sealed = dest.kind, dest.credentials
        session = kinds.get(kind).open_session(vault_of(app).open(sealed), None)
        try:
            missing = session.missing_fields()
        finally:
            session.close()
    if missing:
        raise BadInput(
            f"destination {destination}: missing fields {', '.join(missing)} (`destinations push` makes them)"
        )
    click.echo(f"destination {destination}: credentials accepted, every field the connector pushes is there")


@commands.command("remove")
@click.argument("destination")
@click.option(
    "--yes", is_flag=True, help="confirm: the connector forgets the destination (the CRM keeps its records)"
)
def remove_destination(destination: str, yes: bool) -> None:
    """Forget a destination (what was pushed stays in the CRM)."""
    if not yes:
        raise BadInput("destinations remove: add --yes to confirm")
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s, s.begin():
            destinations.remove(s, destinations.find(s, destination))
    click.echo(f"destination {destination} removed")
