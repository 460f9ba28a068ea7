"""The `crm-connector` command: the Procfile roles, migrations and store management.

Every command runs in an app context built by the factory (FlaskGroup does this for
each command unless told not to); one error path (connector.cli.support) prints any
failure with a remedy as one line naming what to fix, with exit status 2. `--help` and
`--version` build nothing and touch no folder.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from sqlalchemy.exc import IntegrityError

from connector import create_app, db, logs
from connector.accounts import stores
from connector.cli.privacy import privacy_group
from connector.cli.support import NoDatabase, app_context, on_existing_database, one_line, require_database
from connector.cli.sync import sync_command
from connector.config import shopify_api_settings
from connector.context import settings_of, vault_of
from connector.errors import BadInput, Reauthorize
from connector.runtime import queue, signals

ROLES = ("serve", "worker", "cron", "run")  # long-running: their log lines are their output


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


class ConnectorGroup(FlaskGroup):
    """FlaskGroup's app context per command, without Flask's -e/-A/--debug options and
    without building the app just to list the commands (so `--help` touches nothing)."""

    def __init__(self, **extra: Any) -> None:
        super().__init__(**extra)
        flask_options = ("env_file", "app", "debug")  # ours is named "traceback"
        self.params = [p for p in self.params if p.name not in flask_options]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)


@click.group(
    cls=ConnectorGroup,
    create_app=lambda: create_app(),
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    context_settings={"auto_envvar_prefix": None},
)
@click.version_option(package_name="crm-connector", prog_name="crm-connector")
@click.option("-v", "--verbose", is_flag=True, help="also show the log's INFO lines (on stderr)")
@click.option("--debug", "traceback", is_flag=True, help="show the traceback of an error instead of one line")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, traceback: bool) -> None:
    """crm-connector: keep a CRM store in step with Shopify and WooCommerce stores."""
    role = ctx.invoked_subcommand in ROLES
    logs.show_on_terminal(logging.INFO if verbose or role else logging.WARNING)
    signals.stop_on_signals()  # SIGTERM and SIGHUP unwind every command, as Ctrl-C does


cli.add_command(sync_command)
cli.add_command(privacy_group)


# --- Procfile roles -------------------------------------------------------------------


def _ready(app: Flask) -> None:
    settings = settings_of(app)
    db.ensure_schema(db.get_engine(app), auto_upgrade=settings.embedded_database)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    default=lambda: int(os.environ.get("WEB_CONCURRENCY", "2")),
    type=int,
    help="gunicorn worker processes (default: WEB_CONCURRENCY or 2)",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app (webhooks, API, dashboard) under gunicorn."""
    from connector.runtime.web_server import serve_forever

    app = _app()
    _ready(app)
    serve_forever(app, host=host, port=port, workers=workers)


@cli.command()
@click.option("--burst", is_flag=True, help="exit once the queues are empty")
@click.option("--simple", is_flag=True, help="run jobs in this process instead of a forked one")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(queue.QUEUES),
    help="queues to serve (default: all three)",
)
def worker(burst: bool, simple: bool, queues: tuple[str, ...]) -> None:
    """Process jobs from the webhooks, sync and notifications queues."""
    from connector.cli import roles

    app = _app()
    _ready(app)
    queue.tune_gc_for_batches()
    roles.work(queue.get_redis(app), queues or queue.QUEUES, burst=burst, simple=simple)


@cli.command()
def cron() -> None:
    """Enqueue scheduled work (re-syncs, housekeeping). Run exactly one."""
    from connector.cli import roles

    app = _app()
    _ready(app)
    roles.cron(queue.get_redis(app))


@cli.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def run(port: int, host: str) -> None:
    """Run web + worker + cron together (the embedded default needs nothing else)."""
    from connector.runtime.processes import run_all

    app = _app()
    _ready(app)
    env = {
        "REDIS_URL": app.extensions["crm.redis_url"],
        "DATABASE_URL": settings_of(app).database_url,
        "CONNECTOR_INSTANCE_PATH": str(settings_of(app).instance_path),
    }
    click.echo(f"crm-connector: web on http://{host}:{port}, worker and cron running; Ctrl-C stops all")
    code = run_all(
        {"web": ["serve", "--host", host, "--port", str(port)], "worker": ["worker"], "cron": ["cron"]}, env
    )
    queue.shutdown(app)
    sys.exit(code)


@cli.command(with_appcontext=False)  # it builds its own app, on its own instance folder
@click.option("--port", default=5000, show_default=True, type=int, help="the connector's web port")
@click.option("--no-serve", is_flag=True, help="exit after the summary instead of serving")
@click.option("--seed", default=1, show_default=True, type=int, help="the generated data's random seed")
@click.option(
    "--customers", default=400, show_default=True, type=click.IntRange(1), help="generated per store"
)
@click.option("--orders", default=3000, show_default=True, type=click.IntRange(1), help="generated per store")
@click.option("--products", default=80, show_default=True, type=click.IntRange(1), help="generated per store")
def demo(port: int, no_serve: bool, seed: int, customers: int, orders: int, products: int) -> None:
    """Install a sandbox shop and site, backfill them, play live webhooks, then serve."""
    from connector.cli.demo import port_taken, run_demo, serve_until_interrupted
    from connector.config import instance_folder
    from sandbox.generator import Sizes

    if port_taken("127.0.0.1", port):
        raise BadInput(f"--port: {port} is in use by another program; choose a free one, e.g. --port 5050")
    instance = instance_folder() / "demo"
    session = run_demo(
        instance, port, Sizes(customers, orders, products), seed, click.echo, serving=not no_serve
    )
    if no_serve:
        session.stop()
        return
    click.echo(f"serving the connector at {session.url} with a worker and cron; Ctrl-C stops the demo")
    code = serve_until_interrupted(session)
    session.stop()
    sys.exit(code)


# --- the platform sandbox ------------------------------------------------------------------


@cli.command(with_appcontext=False)  # the sandbox needs no database, Redis or settings
@click.option("--port", default=8700, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--customers", default=1000, show_default=True, type=click.IntRange(0))
@click.option("--orders", default=5000, show_default=True, type=click.IntRange(0))
@click.option("--products", default=200, show_default=True, type=click.IntRange(1))
@click.option("--shops", default=1, show_default=True, type=click.IntRange(0, 50))
@click.option("--woo-sites", default=1, show_default=True, type=click.IntRange(0, 50))
@click.option("--plan", default="basic", show_default=True, type=click.Choice(["basic", "advanced", "plus"]))
@click.option("--unthrottled", is_flag=True, help="report GraphQL costs but never throttle (benchmarks)")
@click.option(
    "--woo-host", "woo_hosts", multiple=True, help="a WooCommerce site's own host, in site order (repeatable)"
)
@click.option(
    "--tls", is_flag=True, help="serve https with a CA made for this run (its file is in the manifest)"
)
def sandbox(
    port: int,
    host: str,
    seed: int,
    customers: int,
    orders: int,
    products: int,
    shops: int,
    woo_sites: int,
    plan: str,
    unthrottled: bool,
    woo_hosts: tuple[str, ...],
    tls: bool,
) -> None:
    """Run a local Shopify and WooCommerce; the first line printed is the JSON manifest."""
    from sandbox.generator import Sizes
    from sandbox.server import SandboxServer
    from sandbox.world import World

    try:
        world = World(
            seed=seed,
            sizes=Sizes(customers, orders, products),
            shops=shops,
            woo_sites=woo_sites,
            plan=plan,
            throttle=not unthrottled,
            woo_hosts=list(woo_hosts),
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--woo-host") from None
    server = SandboxServer(world, host, port, tls=tls)
    click.echo(json.dumps(world.manifest()))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


# --- database ---------------------------------------------------------------------------


@cli.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    engine = db.get_engine(_app())
    db.upgrade(engine, revision)
    current, head = db.schema_revision(engine)
    click.echo(f"database at revision {current} (newest {head})")


# --- stores -----------------------------------------------------------------------------


@cli.group("stores")
def stores_group() -> None:
    """Connect, list and remove stores."""


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

    app = _app()
    _ready(app)
    with db.session(app) as s:
        rows = stores.describe(s, list(s.scalars(select(stores.Store).order_by(stores.Store.id))))
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no stores yet: `crm-connector stores add-shopify` or `stores add-woocommerce`")
    for r in rows:
        counts = ", ".join(f"{n} {e['count']} ({e['state']})" for n, e in r["entities"].items())
        click.echo(f"{r['id']:>4}  {r['platform']:<12} {r['domain']:<40} {r['status']:<10} {counts}")
        for name, e in r["entities"].items():
            if e["last_error"]:
                at = e.get("next_attempt_at")
                retry = f" (next try {at[:19].replace('T', ' ')} UTC)" if at else ""
                click.echo(f"      {name}: {e['last_error']}{retry}")


def _connect(
    platform: str, domain: str, credentials: dict[str, Any], account: str, webhooks: bool, scopes: str | None
) -> None:
    """Save the store (its credentials already checked against the platform); with
    `webhooks`, register them in the same transaction, so a refusal saves nothing."""
    from webhooks import subscriptions

    app = _app()
    _ready(app)
    with db.session(app) as s, s.begin():
        new_account = stores.find_account(s, account) is None
        store = stores.connect_store(
            s,
            vault_of(app),
            account=stores.account_named(s, account),
            platform=platform,
            domain=domain,
            credentials=credentials,
        )
        store.scopes = scopes or store.scopes
        health = subscriptions.repair(settings_of(app), vault_of(app), store) if webhooks else None
        store_id = store.id
    made = f" (new account {account!r})" if new_account else f" (account {account!r})"
    click.echo(f"store {store_id} connected: {platform} {domain}{made}")
    if health is not None:
        _print_health(health)
    else:
        click.echo(f"webhooks not registered yet: `crm-connector webhooks repair {store_id}`")


@stores_group.command("add-shopify", with_appcontext=False)  # checked before anything is made
@click.option("--shop", required=True, help="the shop's <name>.myshopify.com domain")
@click.option("--token", required=True, help="an Admin API access token for the shop")
@click.option("--account", default="default", show_default=True, help="merchant account name (made if new)")
@click.option("--webhooks", is_flag=True, help="also register the webhook subscriptions now")
def stores_add_shopify(shop: str, token: str, account: str, webhooks: bool) -> None:
    """Connect a Shopify shop with an access token (custom-app install), once the shop has
    accepted the token and its scopes."""
    from platforms.shopify.install import check_access_token, normalize_shop_domain, verify_token

    domain, token = normalize_shop_domain(shop), check_access_token(token)
    api = shopify_api_settings()
    granted = verify_token(api.shop_url_template.format(shop=domain), api.version, token, api.scopes)
    with app_context():
        _connect("shopify", domain, {"access_token": token}, account, webhooks, granted)


@stores_group.command("add-woocommerce", with_appcontext=False)
@click.option("--url", required=True, help="the site's URL, e.g. https://shop.example.com")
@click.option("--key", required=True, help="REST API consumer key (ck_…)")
@click.option("--secret", required=True, help="REST API consumer secret (cs_…)")
@click.option("--account", default="default", show_default=True, help="merchant account name (made if new)")
@click.option("--webhooks", is_flag=True, help="also register the webhook subscriptions now")
def stores_add_woocommerce(url: str, key: str, secret: str, account: str, webhooks: bool) -> None:
    """Connect a WooCommerce site with REST API keys pasted by hand, once the site has
    accepted them."""
    from platforms.woocommerce.install import check_keys, normalize_store_url, verify_keys

    url, (key, secret) = normalize_store_url(url), check_keys(key, secret)
    verify_keys(url, key, secret)
    credentials = {"consumer_key": key, "consumer_secret": secret}
    with app_context():
        _connect("woocommerce", url, credentials, account, webhooks, None)


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

    app = _app()
    _ready(app)
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
    app = _app()
    _ready(app)
    with db.session(app) as s, s.begin():
        store = stores.find_store(s, store_ref)
        if not yes:
            click.confirm(f"Delete store {store.id} ({store.domain}) and all its synced records?", abort=True)
        stores.remove_store(s, store)
    click.echo(f"store {store_ref} removed")


# --- API tokens ----------------------------------------------------------------------------


@cli.group("tokens")
def tokens_group() -> None:
    """API tokens, each scoped to one merchant account."""


@tokens_group.command("create", with_appcontext=False)
@on_existing_database
@click.option("--account", default="default", show_default=True, help="an existing merchant account's name")
@click.option("--name", default="api", show_default=True, help="what the token is for")
def tokens_create(account: str, name: str) -> None:
    """Create an API token (printed once; only its hash is kept)."""
    from connector.web.api import create_token

    app = _app()
    _ready(app)
    with db.session(app) as s, s.begin():
        token = create_token(s, stores.existing_account(s, account).id, name)
    click.echo(token)


# --- dashboard users ------------------------------------------------------------------------


@cli.group("users")
def users_group() -> None:
    """Dashboard sign-ins, each seeing one merchant account."""


@users_group.command("create", with_appcontext=False)
@on_existing_database
@click.option("--email", required=True, help="the sign-in e-mail")
@click.option("--account", default="default", show_default=True, help="an existing merchant account's name")
@click.option("--password", help="at least 10 characters (default: one is generated and printed once)")
def users_create(email: str, account: str, password: str | None) -> None:
    """Create a dashboard sign-in for the account."""
    import secrets as random

    from connector.web.dashboard import create_user

    app = _app()
    _ready(app)
    chosen = password or random.token_urlsafe(12)
    try:
        with db.session(app) as s, s.begin():
            create_user(s.connection(), stores.existing_account(s, account).id, email, chosen)
    except IntegrityError:
        raise BadInput(f"--email: {email} already has a sign-in") from None
    settings = settings_of(app)
    where = (
        f"at {settings.app_url}/login"
        if settings.app_url_given
        else "at /login of the connector's web address (APP_URL is not set; `crm-connector run` "
        "serves http://127.0.0.1:5000 unless given --port)"
    )
    click.echo(f"{email} can sign in {where}" + ("" if password else f" with {chosen}"))


@users_group.command("set-password", with_appcontext=False)
@on_existing_database
@click.option("--email", required=True, help="the sign-in e-mail")
@click.option("--password", help="at least 10 characters (default: one is generated and printed once)")
def users_set_password(email: str, password: str | None) -> None:
    """Give a dashboard sign-in a new password; every session signed in before ends."""
    import secrets as random

    from sqlalchemy import select

    from connector.db.models import DashboardUser
    from connector.web.dashboard import set_password

    app = _app()
    _ready(app)
    chosen = password or random.token_urlsafe(12)
    with db.session(app) as s, s.begin():
        user_id = s.scalar(select(DashboardUser.id).where(DashboardUser.email == email.strip().lower()))
        if user_id is None:
            raise BadInput(f"--email: no sign-in {email}; see `crm-connector users create`")
        set_password(s.connection(), user_id, chosen)
    click.echo(f"{email} has a new password" + ("" if password else f": {chosen}"))


# --- secrets -------------------------------------------------------------------------------


@cli.group("secrets")
def secrets_group() -> None:
    """Encryption of platform tokens and webhook secrets at rest."""


@secrets_group.command("rotate", with_appcontext=False)
@on_existing_database
def secrets_rotate() -> None:
    """Re-encrypt every stored secret under the first CONNECTOR_ENCRYPTION_KEY."""
    app = _app()
    _ready(app)
    with db.session(app) as s, s.begin():
        count = stores.rotate_secrets(s, vault_of(app))
    click.echo(f"{count} secrets re-encrypted under the first key; older keys can now be removed")


# --- webhooks ------------------------------------------------------------------------------


@cli.group("webhooks")
def webhooks_group() -> None:
    """Check and repair each store's webhook subscriptions."""


def _subscriptions(store_ref: str, fix: bool, as_json: bool) -> None:
    from webhooks import subscriptions

    app = _app()
    _ready(app)
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


def main(args: list[str] | None = None) -> None:
    """The console script: run the command; a failure is one line on stderr (exit 2 when
    it names what to fix, 1 otherwise); `--debug` shows the traceback instead."""
    traceback = False
    try:
        with cli.make_context("crm-connector", list(sys.argv[1:] if args is None else args)) as ctx:
            traceback = bool(ctx.params.get("traceback"))
            cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):  # Ctrl-C: what was started has ended
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if traceback:
            raise
        message, status = one_line(exc)
        click.echo(f"crm-connector: {message}", err=True)
        sys.exit(status)
