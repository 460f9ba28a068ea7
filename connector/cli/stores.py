"""`crm-connector stores …` and `webhooks …`: connect, list and remove stores, and check or
repair their webhook subscriptions.

`stores add-<platform>` is made for each registered platform that offers one (its options
and its check against the platform come from the platform package); the store is saved,
with its webhooks when asked, in one transaction, so a refusal saves nothing.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import click
from flask.cli import AppGroup

import platforms
from connector import db
from connector.accounts import health, profiles, stores
from connector.cli.support import (
    NoDatabase,
    add_commands_hint,
    app_context,
    on_existing_database,
    ready,
    require_database,
    the_app,
)
from connector.context import settings_of, vault_of
from connector.errors import BadInput, Reauthorize
from connector.runtime import queue
from platforms.protocol import Connection, Platform

commands = AppGroup("stores")  # its groups are added to `crm-connector` (connector.cli)


# --- stores -----------------------------------------------------------------------------


class StoresGroup(AppGroup):
    """`stores`, with an `add-<platform>` command for each registered platform that has one,
    made when asked for (so a platform registered later, as in tests, has one too)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            {*super().list_commands(ctx), *(f"add-{p.NAME}" for p in platforms.every() if p.ADD_HELP)}
        )

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        platform = name.removeprefix("add-")
        if found is None and name.startswith("add-") and platform in platforms.names():
            return _add_command(platforms.get(platform)) if platforms.get(platform).ADD_HELP else None
        return found


@commands.group("stores", cls=StoresGroup)
def stores_group() -> None:
    """Connect, list and remove stores."""


def _add_command(platform: Platform) -> click.Command:
    """`stores add-<name>`: the platform checks what was given against itself (BadInput names
    what is wrong) before anything is made; then the store is saved."""

    def add(account: str, webhooks: bool, **options: str | tuple[str, ...]) -> None:
        values = {k: v if isinstance(v, str) else ",".join(v) for k, v in options.items()}
        connection = platform.connect_by_hand(values)
        with app_context():
            _connect(platform.NAME, connection, account, webhooks)

    given = [
        click.Option([f"--{o.name}"], required=not o.multiple, multiple=o.multiple, help=o.help)
        for o in platform.ADD_OPTIONS
    ]
    return click.Command(
        f"add-{platform.NAME}",
        callback=add,
        params=[*given, *ACCOUNT_OPTIONS],
        help=inspect.cleandoc(platform.ADD_HELP),
    )


def _account_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """Checked before the platform is asked anything: a name, not blank."""
    if not value.strip():
        raise BadInput("--account: a merchant account needs a name (anything but blank)")
    return value.strip()


ACCOUNT_OPTIONS = (
    click.Option(
        ["--account"],
        default="default",
        show_default=True,
        help="merchant account name (made if new)",
        callback=_account_name,
    ),
    click.Option(["--webhooks"], is_flag=True, help="also register the webhook subscriptions now"),
)


@stores_group.command("list", with_appcontext=False)
@click.option("--json", "as_json", is_flag=True, help="print a JSON array (DESIGN §3's shape)")
def stores_list(as_json: bool) -> None:
    """List connected stores with their record counts and sync state."""
    try:
        require_database()
    except NoDatabase as nothing:  # nothing is created just to say there is nothing
        click.echo("[]" if as_json else f"no stores: {nothing.reason}")
        return
    with app_context():
        _print_stores(as_json)


def _print_stores(as_json: bool) -> None:
    from sqlalchemy import select

    app = the_app()
    ready(app)
    with db.session(app) as s:
        rows = stores.describe(s, list(s.scalars(select(stores.Store).order_by(stores.Store.id))))
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo(f"no stores yet: {add_commands_hint()}")
    for r in rows:  # the badge and each entity's activity, as the stores page says them
        counts = ", ".join(f"{n} {e['count']:,} ({e['activity']})" for n, e in r["entities"].items())
        click.echo(f"{r['id']:>4}  {r['platform']:<12} {r['domain']:<40} {r['health']['label']:<16} {counts}")
        for name, e in r["entities"].items():
            if e["last_error"] and e["activity"] in health.TROUBLE:
                at = e.get("next_attempt_at")
                retry = f" (next try {at[:19].replace('T', ' ')} UTC)" if at else ""
                click.echo(f"      {name}: {e['last_error']}{retry}")
        if r["health"]["state"] != "active" and r["health"]["reason"] and r["status"] != "active":
            click.echo(f"      {r['health']['reason']}")


def _connect(platform: str, connection: Connection, account: str, webhooks: bool) -> None:
    """Save the store (its credentials already checked against the platform); with
    `webhooks`, register them in the same transaction, so a refusal saves nothing."""
    from webhooks import subscriptions

    app = the_app()
    ready(app)
    with db.session(app) as s, s.begin():
        new_account = stores.find_account(s, account) is None
        store = stores.connect_store(
            s,
            vault_of(app),
            account=stores.account_named(s, account),
            platform=platform,
            domain=connection.domain,
            credentials=connection.credentials,
        )
        store.scopes = connection.scopes or store.scopes
        health = subscriptions.repair(settings_of(app), vault_of(app), store) if webhooks else None
        if not webhooks:  # repair reads the store's profile on its way; otherwise, here
            profiles.refresh(settings_of(app), vault_of(app), store)
        store_id = store.id
    made = f" (new account {account!r})" if new_account else f" (account {account!r})"
    click.echo(f"store {store_id} connected: {platform} {connection.domain}{made}")
    if health is not None:
        _print_health(health)
    elif platforms.get(platform).SUBSCRIPTIONS:
        click.echo(f"webhooks not registered yet: `crm-connector webhooks repair {store_id}`")
    else:  # no subscriptions made from here (Magento: its hooks are set up in its admin)
        label = platforms.get(platform).LABEL
        click.echo(f"no webhooks to register: the scheduled re-sync keeps this {label} store current")
        if platforms.get(platform).TOPICS:  # deliveries it sends once set up in the store itself
            click.echo(f"its own signed webhooks are taken too, once set up in the {label} store (README)")


@stores_group.command("confirm-url", with_appcontext=False)
@on_existing_database
@click.argument("store_ref")
def stores_confirm_url(store_ref: str) -> None:
    """Accept that a WooCommerce site moved to the URL its deliveries now come from."""
    _settle_url(store_ref, accept=True)


@stores_group.command("reject-url", with_appcontext=False)
@on_existing_database
@click.argument("store_ref")
def stores_reject_url(store_ref: str) -> None:
    """Refuse deliveries from another URL (a staging copy) and drop those held."""
    _settle_url(store_ref, accept=False)


def _settle_url(store_ref: str, *, accept: bool) -> None:
    from webhooks.inbox import request_processing

    app = the_app()
    ready(app)
    with db.session(app) as s, s.begin():
        store = stores.find_store(s, store_ref)
        count = stores.settle_url_change(s, store, accept=accept)
        store_id = store.id
    if accept:
        request_processing(queue.get_redis(app), store_id)
    verb = "released for processing" if accept else "dropped"
    click.echo(f"store {store_id}: {count} held deliveries {verb}")


@stores_group.command("remove", with_appcontext=False)
@on_existing_database
@click.argument("store_ref")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def stores_remove(store_ref: str, yes: bool) -> None:
    """Disconnect a store and delete every record synced from it."""
    app = the_app()
    ready(app)
    with db.session(app) as s, s.begin():
        store = stores.find_store(s, store_ref)
        if not yes:
            click.confirm(f"Delete store {store.id} ({store.domain}) and all its synced records?", abort=True)
        removed = stores.remove_store(s, store)
    removed.forget(queue.get_redis(app))
    click.echo(f"store {store_ref} removed")


# --- webhooks ------------------------------------------------------------------------------


@commands.group("webhooks")
def webhooks_group() -> None:
    """Check and repair each store's webhook subscriptions."""


def _subscriptions(store_ref: str, fix: bool, as_json: bool) -> None:
    from webhooks import subscriptions

    app = the_app()
    ready(app)
    with db.session(app) as s, s.begin():
        store = stores.find_store(s, store_ref)
        act = subscriptions.repair if fix else subscriptions.check
        try:
            health = act(settings_of(app), vault_of(app), store)
        except Reauthorize as exc:
            stores.needs_reauthorisation(s, store, exc.reason)
            s.commit()
            raise
    if as_json:
        click.echo(json.dumps(health.as_dict()))
        return
    _print_health(health)


def _print_health(health: Any) -> None:
    state = "all needed are there" if health.ok else "needs repair (`crm-connector webhooks repair`)"
    click.echo(f"store {health.store_id}: {len(health.healthy)} webhook subscriptions healthy; {state}")
    for label, topics in (("missing", health.missing), ("disabled", health.disabled)):
        if topics:
            click.echo(f"  {label}: {', '.join(topics)}")


@webhooks_group.command("check", with_appcontext=False)
@on_existing_database
@click.argument("store_ref")
@click.option("--json", "as_json", is_flag=True, help="print the health as a JSON object")
def webhooks_check(store_ref: str, as_json: bool) -> None:
    """Compare the platform's subscriptions with the ones the connector needs."""
    _subscriptions(store_ref, fix=False, as_json=as_json)


@webhooks_group.command("repair", with_appcontext=False)
@on_existing_database
@click.argument("store_ref")
@click.option("--json", "as_json", is_flag=True, help="print the health afterwards as a JSON object")
def webhooks_repair(store_ref: str, as_json: bool) -> None:
    """Create missing subscriptions and replace disabled ones."""
    _subscriptions(store_ref, fix=True, as_json=as_json)


def _platform_commands() -> None:
    """Commands a platform needs beyond add-<name> (they live beside this module)."""
    from connector.cli.stores_magento import set_magento_webhook_key

    stores_group.add_command(set_magento_webhook_key)


_platform_commands()
