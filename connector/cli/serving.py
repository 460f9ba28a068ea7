"""`crm-connector serve|worker|cron|run` (the Procfile roles), `demo`, `sandbox` and `db`.

The roles make sure the schema is there (upgrading the embedded database on its own),
then run until stopped; `demo` and `sandbox` build their own app or none at all.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import platformdirs
from alembic.util import CommandError
from flask.cli import AppGroup

from connector import db
from connector.cli.support import ready, the_app
from connector.config import load_settings
from connector.config_lookups import web_concurrency
from connector.context import settings_of
from connector.errors import BadInput
from connector.runtime import queue

PORT = click.IntRange(1, 65535)  # a TCP port
SANDBOX_RENDER_CACHE = (
    platformdirs.user_cache_path("crm-connector") / "sandbox-render"
)  # sandbox --render-cache
commands = AppGroup("serving")  # its commands are added to `crm-connector` (connector.cli)


# --- Procfile roles -------------------------------------------------------------------


@commands.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=PORT)
@click.option(
    "--workers",
    default=web_concurrency,
    type=click.IntRange(1),
    help="web worker processes (default: WEB_CONCURRENCY, see the README)",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app (webhooks, API, dashboard) under gunicorn."""
    from connector.runtime.web_server import serve_forever

    _can_listen(host, port)
    app = the_app()
    ready(app)
    serve_forever(app, host=host, port=port, workers=workers)


@commands.command()
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

    app = the_app()
    ready(app)
    queue.tune_gc_for_batches()
    roles.work(queue.get_redis(app), queues or queue.QUEUES, burst=burst, simple=simple)


@commands.command()
def cron() -> None:
    """Enqueue scheduled work (re-syncs, housekeeping). Run exactly one."""
    from connector.cli import roles

    app = the_app()
    ready(app)
    roles.cron(queue.get_redis(app))


@commands.command()
@click.option("--port", default=5000, show_default=True, type=PORT)
@click.option("--host", default="127.0.0.1", show_default=True)
def run(port: int, host: str) -> None:
    """Run web + worker + cron together (the embedded default needs nothing else)."""
    from connector.runtime.processes import run_all

    _can_listen(host, port)
    app = the_app()
    ready(app)
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


@commands.command(with_appcontext=False)  # it builds its own app, on its own instance folder
@click.option("--port", default=5000, show_default=True, type=PORT, help="the connector's web port")
@click.option("--no-serve", is_flag=True, help="exit after the summary instead of serving")
@click.option("--seed", default=1, show_default=True, type=int, help="the generated data's random seed")
@click.option(
    "--customers", default=400, show_default=True, type=click.IntRange(1), help="generated per store"
)
@click.option("--orders", default=3000, show_default=True, type=click.IntRange(1), help="generated per store")
@click.option("--products", default=80, show_default=True, type=click.IntRange(1), help="generated per store")
def demo(port: int, no_serve: bool, seed: int, customers: int, orders: int, products: int) -> None:
    """Install a sandbox shop and site, backfill them, play live webhooks, then serve."""
    from connector.cli.demo import Sizes, run_demo, serve_until_interrupted
    from connector.config import instance_folder

    _can_listen("127.0.0.1", port)
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


def _can_listen(host: str, port: int) -> None:
    """Exit 2 with the reason, before anything starts, when nothing can listen there."""
    from connector.cli.listening import listen_refusal

    refusal = listen_refusal(host, port)
    if refusal is not None:
        raise BadInput(refusal)


# --- the platform sandbox ------------------------------------------------------------------


@commands.command(with_appcontext=False)  # the sandbox needs no database, Redis or settings
@click.option("--port", default=8700, show_default=True, type=PORT)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--customers", default=1000, show_default=True, type=click.IntRange(0))
@click.option("--orders", default=5000, show_default=True, type=click.IntRange(0))
@click.option("--products", default=200, show_default=True, type=click.IntRange(1))
@click.option("--shops", default=1, show_default=True, type=click.IntRange(0, 50))
@click.option("--woo-sites", default=1, show_default=True, type=click.IntRange(0, 50))
@click.option("--magento-stores", default=0, show_default=True, type=click.IntRange(0, 50))
@click.option("--plan", default="basic", show_default=True, type=click.Choice(["basic", "advanced", "plus"]))
@click.option("--unthrottled", is_flag=True, help="report GraphQL costs but never throttle (benchmarks)")
@click.option(
    "--woo-host", "woo_hosts", multiple=True, help="a WooCommerce site's own host, in site order (repeatable)"
)
@click.option(
    "--shop-domain",
    "shop_domains",
    multiple=True,
    help="a shop's <handle>.myshopify.com, in shop order (repeatable)",
)
@click.option(
    "--tls", is_flag=True, help="serve https with a CA made for this run (its file is in the manifest)"
)
@click.option(
    "--proxy-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="with --tls: also a CONNECT proxy here (0: any port) for clients that hard-code"
    " https://<shop>.myshopify.com; run them with HTTPS_PROXY=<the manifest's proxy>",
)
@click.option(
    "--zoho-dc",
    default="us",
    show_default=True,
    help="the Zoho CRM org's data center (us, eu, in, au, jp, ca, cn, sa)",
)
@click.option(
    "--render-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="keep rendered records here (default: the user cache folder); rendered once, never stale",
)
@click.option("--no-render-cache", is_flag=True, help="render every record on every request")
def sandbox(
    port: int,
    host: str,
    seed: int,
    customers: int,
    orders: int,
    products: int,
    shops: int,
    woo_sites: int,
    magento_stores: int,
    plan: str,
    unthrottled: bool,
    woo_hosts: tuple[str, ...],
    shop_domains: tuple[str, ...],
    tls: bool,
    proxy_port: int | None,
    zoho_dc: str,
    render_cache: Path | None,
    no_render_cache: bool,
) -> None:
    """Run a local Shopify, WooCommerce, Magento, Salesforce and Zoho CRM; the first line printed is
    the JSON manifest."""
    from connector.cli.sandbox_command import SandboxListen, SandboxShape, Sizes, serve_sandbox

    if no_render_cache and render_cache is not None:
        raise click.UsageError("--render-cache and --no-render-cache exclude each other")
    cache = None if no_render_cache else render_cache or SANDBOX_RENDER_CACHE
    sizes = Sizes(customers, orders, products)
    shape = SandboxShape(
        sizes, seed, shops, woo_sites, plan, woo_hosts, shop_domains, magento_stores, zoho_dc, cache
    )
    serve_sandbox(SandboxListen(host, port, tls, proxy_port), shape, throttle=not unthrottled)


# --- database ---------------------------------------------------------------------------


@commands.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade", with_appcontext=False)
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (the database alone: no app, no Redis started)."""
    engine = db.engine_for(load_settings(os.environ))
    try:
        db.upgrade(engine, revision)
        current, head = db.schema_revision(engine)
    except CommandError as exc:  # alembic's word for a revision it does not know
        raise BadInput(f"--revision: {exc}; `--revision head` is the newest") from None
    finally:
        engine.dispose()
    click.echo(f"database at revision {current} (newest {head})")
