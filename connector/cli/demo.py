"""`crm-connector demo`: the whole product on one machine, against the platform sandbox.

It starts the sandbox with a shop, a WooCommerce site and a Magento store (some shoppers
buy on all three), serves the connector on loopback, installs them into one merchant
account (Shopify's OAuth redirects, WooCommerce's app-key approval, Magento's integration
token: connector.cli.demo_magento), backfills them with progress bars, plays live changes
whose webhooks the connector applies, connects the sandbox's HubSpot portal and pushes
to it (connector.cli.demo_destination), prints the account's summary (the dashboard's own
queries) and keeps serving (web, worker, cron) until Ctrl-C. Its data lives in
`<instance>/demo`, made afresh each time: it never touches a real instance's database.
"""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from connector import create_app, db, logs
from connector.accounts import stores
from connector.cli.demo_destination import connect_and_push
from connector.cli.demo_magento import connect_magento, on_every_platform
from connector.cli.overview_lines import overview_lines
from connector.cli.sync import sync_with_progress
from connector.context import settings_of
from connector.crm import insights, notifications
from connector.db.models import Customer
from connector.db.operations import DashboardUser
from connector.db.types import utcnow
from connector.runtime import queue
from connector.web import formatting, words
from connector.web import queries as views
from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World
from webhooks.process import sweep

DEMO_SCOPES = "read_customers,read_orders,read_all_orders,read_products"
DEMO_LOGIN = "demo@crm-connector.local"
MAIL_KINDS = {"confirm": ("subscription confirmation",), "product": ("new-product notification",)}
PRIVACY_KINDS = {
    "customer_redact": ("erasure of a shopper (customers/redact)", "erasures of shoppers (customers/redact)"),
    "data_request": ("data export (customers/data_request)", "data exports (customers/data_request)"),
    "shop_redact": ("erasure of a shop (shop/redact)", "erasures of shops (shop/redact)"),
}
LIVE_CHANGES = [
    ("orders", "create", 40),
    ("orders", "update", 30),
    ("customers", "update", 15),
    ("products", "create", 5),
    ("orders", "delete", 3),
]


@dataclass
class Demo:
    app: Flask
    sandbox: SandboxServer
    url: str
    server: Any
    password: str = ""  # the demo's dashboard sign-in, made once the shop is installed

    def stop(self) -> None:
        self.server.shutdown()
        self.sandbox.stop()
        db.get_engine(self.app).dispose()
        queue.shutdown(self.app)


def start(instance: Path, port: int, sizes: Sizes, seed: int) -> Demo:
    """The sandbox and the connector, both serving on loopback, on a fresh demo instance."""
    shutil.rmtree(instance, ignore_errors=True)
    world = World(seed=seed, sizes=sizes, plan="plus", magento_stores=1)
    sandbox = SandboxServer(world).start()
    manifest = world.manifest()
    url = f"http://127.0.0.1:{port}"
    app = create_app(
        {
            "CONNECTOR_INSTANCE_PATH": str(instance),
            "APP_URL": url,
            "SHOPIFY_API_KEY": manifest["shopify"]["api_key"],
            "SHOPIFY_API_SECRET": manifest["shopify"]["api_secret"],
            "SHOPIFY_SHOP_URL_TEMPLATE": manifest["shopify"]["shop_url_template"],
            "SHOPIFY_SCOPES": DEMO_SCOPES,  # the whole order history, not only the last 60 days
            "CONNECTOR_ALLOW_PRIVATE_URLS": "true",  # its sandbox is on loopback, whatever the database
        }
    )
    logs.to_file(log_path(instance))
    db.ensure_schema(db.get_engine(app), auto_upgrade=True)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return Demo(app, sandbox, url, server)


def log_path(instance: Path) -> Path:
    """Where the demo's log lines go (web, worker and cron alike), away from its terminal."""
    return instance / "demo.log"


def install_both(demo: Demo) -> list[tuple[int, str]]:
    """Install the shop and the site as their owners would (browser redirects), and Magento's."""
    manifest = demo.sandbox.world.manifest()
    shop, site = manifest["shopify"]["shops"][0]["domain"], manifest["woocommerce"]["stores"][0]["url"]
    answer = requests.Session().get(f"{demo.url}/shopify/install", params={"shop": shop}, timeout=60)
    answer.raise_for_status()
    demo.password = create_login(demo)  # the site joins the shop's account, connected when signed in
    browser = signed_in(demo)
    form = browser.get(f"{demo.url}/woocommerce/connect", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None, "the connect form has no CSRF token"
    answer = browser.post(
        f"{demo.url}/woocommerce/connect", data={"store_url": site, "csrf_token": token.group(1)}, timeout=60
    )
    answer.raise_for_status()
    connect_magento(demo.app, manifest["magento"]["stores"][0], account_of(demo.app))
    with db.session(demo.app) as s:
        return [(store.id, f"{store.platform} {store.domain}") for store in s.scalars(select(stores.Store))]


def subscribe_people(demo: Demo, shop_key: str) -> int:
    """Two shoppers ask to hear about new products through the storefront form and confirm
    by the link in the e-mail they got (an .eml file in the demo's outbox folder)."""
    for email, scope, value in (
        ("ada@example.com", "store", None),
        ("lin@example.com", "vendor", "Northwind"),
    ):
        form = {"email": email, "scope": scope, **({"value": value} if value else {})}
        requests.post(f"{demo.url}/subscribe/{shop_key}", data=form, timeout=30).raise_for_status()
    notifications.send_pending(demo.app)
    confirmed = 0
    for path in sorted(notifications.outbox_folder(settings_of(demo.app)).glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=default)
        found = re.search(r"Confirm here: (\S+)", mail.get_content())
        if found and requests.get(found.group(1), timeout=30).status_code == 200:
            confirmed += 1
    return confirmed


def redact_one_customer(demo: Demo, store_id: int) -> None:
    """A shopper asks the shop to erase them: the sandbox, as Shopify, sends customers/redact
    to the compliance address the app declares (shopify.app.toml)."""
    with db.session(demo.app) as s:
        store = s.get_one(stores.Store, store_id)
        customer_id = s.execute(
            select(Customer.platform_id).where(Customer.store_id == store_id).limit(1)
        ).scalar_one()
    control = demo.sandbox.url + "/_sandbox"
    requests.post(
        f"{control}/app", json={"compliance_uri": f"{demo.url}/webhooks/shopify"}, timeout=30
    ).raise_for_status()
    request = {"store": store.domain, "topic": "customers/redact", "customer_id": customer_id}
    requests.post(f"{control}/privacy", json=request, timeout=30).raise_for_status()
    demo.sandbox.world.dispatcher.wait_idle(timeout=60)


def play_live_changes(demo: Demo) -> int:
    """Changes on both platforms; their webhooks arrive and a worker applies them."""
    manifest = demo.sandbox.world.manifest()
    targets = [("shopify", manifest["shopify"]["shops"][0]["domain"]), ("woocommerce", "site-1")]
    changed = 0
    for platform, store in targets:
        for entity, op, count in LIVE_CHANGES:
            body = {"platform": platform, "store": store, "entity": entity, "op": op, "count": count}
            answer = requests.post(f"{demo.sandbox.url}/_sandbox/mutate", json=body, timeout=120)
            answer.raise_for_status()
            changed += len(answer.json()["ids"])
    demo.sandbox.world.dispatcher.wait_idle(timeout=120)
    drain(demo)
    return changed


def drain(demo: Demo) -> None:
    """Apply every delivery received, then send what that put in the outbox."""
    with demo.app.app_context():
        sweep()
        worker = queue.make_worker(queue.get_redis(demo.app), ("webhooks",), simple=True)
        worker.work(burst=True, logging_level="WARNING")
        notifications.send_pending(demo.app)


def account_of(app: Flask) -> int:
    """The merchant account the printed sign-in opens (every store the demo installs is in it)."""
    with db.session(app) as s:
        return s.execute(
            select(DashboardUser.account_id).where(DashboardUser.email == DEMO_LOGIN)
        ).scalar_one()


def score_all(app: Flask) -> int:
    """The scores the Segments page shows (and a destination is sent), fresh; the account."""
    account = account_of(app)
    with db.get_engine(app).begin() as conn:
        for store_id in views.store_ids(conn, account):
            insights.score(conn, store_id, utcnow())
    return account


def summary(app: Flask, rescore: bool = True) -> list[str]:
    """What the sign-in's account holds, from the queries its dashboard and API answer with
    (the scores made fresh first, unless they were just made)."""
    account = score_all(app) if rescore else account_of(app)
    with db.session(app) as s:
        held = views.account_summary(s, account, settings_of(app).channel_credit, insights.Rules.of(app))
        seen = overview_lines(s, account)
    lines = ["the account of the sign-in below holds:"]
    for r in held.stores:
        counts = ", ".join(f"{e['count']:,} {name}" for name, e in r["entities"].items())
        lines.append(f"  {r['platform']:<12} {r['domain']:<40} {r['status']:<8} {counts}")
    lines.append(
        "  webhooks: "
        + ", ".join(f"{n:,} {status}" for status, n in held.deliveries.items())
        + f"; open dead letters: {held.open_dead_letters}"
    )
    return lines + seen + crm_summary(app, held)


def crm_summary(app: Flask, held: views.AccountSummary) -> list[str]:
    """What the CRM made of it: contacts across stores, top channels, segments per store (as
    the Channels and Segments pages show them), notifications and where they are, privacy."""
    report, domains = held.channels, {r["id"]: r["domain"] for r in held.stores}
    lines = [f"  contacts who bought in more than one store: {held.across_stores:,}"]
    lines += on_every_platform(app, account_of(app))
    lines.append(
        f"  top channels, {report['since'][:10]} to {report['until'][:10]} (revenue, share, orders, credit):"
    )
    lines += [
        f"    {words.channel_name(r['channel']):<24} {formatting.money(r['revenue'], r['currency']):>14}"
        f" {formatting.percent(r['revenue_share']):>5} {formatting.counted(r['orders'], 'order'):>12}"
        f"  credit {r['credit']:.2f}"
        for r in report["channels"][:4]
    ]
    by_store: dict[int, list[str]] = {}
    for seg in held.segments:
        named = words.segment_name(seg["segment"]).lower()
        by_store.setdefault(seg["store_id"], []).append(f"{formatting.number(seg['contacts'])} {named}")
    for store_id, names in by_store.items():
        lines.append(f"  segments, {domains.get(store_id, store_id)}: " + ", ".join(names))
    outbox = notifications.outbox_folder(settings_of(app))
    sent = ", ".join(formatting.counted(n, *MAIL_KINDS.get(kind, (kind,))) for kind, n in held.sent.items())
    sent = sent or "none"
    lines.append(f"  e-mails sent: {sent} (each an .eml file in {outbox})")
    lines.append(
        "  privacy requests honoured: "
        + (
            ", ".join(formatting.counted(n, *PRIVACY_KINDS.get(k, (k,))) for k, n in held.privacy.items())
            or "none"
        )
    )
    return lines


def create_login(demo: Demo) -> str:
    """A dashboard sign-in for the demo's merchant account; its password is returned."""
    from connector.web.dashboard import create_user

    password = secrets.token_urlsafe(12)
    with db.get_engine(demo.app).begin() as conn:
        account = conn.execute(select(stores.Store.account_id).limit(1)).scalar_one()
        create_user(conn, account, DEMO_LOGIN, password)
    return password


def signed_in(demo: Demo) -> requests.Session:
    """A browser signed in to the demo's dashboard, as the merchant would be."""
    browser = requests.Session()
    page = browser.get(f"{demo.url}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, "the sign-in page has no CSRF token"
    form = {"email": DEMO_LOGIN, "password": demo.password, "csrf_token": token.group(1)}
    browser.post(f"{demo.url}/login", data=form, timeout=30).raise_for_status()
    return browser


def dashboard_login(demo: Demo, serving: bool = True) -> str:
    """The demo's dashboard sign-in, printed once; when the demo does not go on serving,
    how to serve what it left behind."""
    if serving:
        return f"dashboard: {demo.url}/ (sign in as {DEMO_LOGIN} with {demo.password})"
    instance = settings_of(demo.app).instance_path
    return (
        f"dashboard: nothing is serving (--no-serve); `CONNECTOR_INSTANCE_PATH={instance} crm-connector "
        f"serve --port {demo.url.rsplit(':', 1)[-1]}` serves it, then sign in as {DEMO_LOGIN} "
        f"with {demo.password}"
    )


def run_demo(instance: Path, port: int, sizes: Sizes, seed: int, echo: Any, serving: bool = True) -> Demo:
    started = time.monotonic()
    demo = start(instance, port, sizes, seed)
    echo(f"sandbox at {demo.sandbox.url}; connector at {demo.url}")
    targets = install_both(demo)
    echo(f"installed {len(targets)} stores through their install flows; backfilling")
    failed = sync_with_progress(demo.app, targets)
    for line in failed:
        echo(f"sync failed: {line}")
    shop_id = next(store_id for store_id, label in targets if label.startswith("shopify"))
    with db.session(demo.app) as s:
        shop_key = s.get_one(stores.Store, shop_id).store_key
    echo(f"{subscribe_people(demo, shop_key)} shoppers subscribed to new products and confirmed by e-mail")
    changed = play_live_changes(demo)
    echo(f"{changed} live changes made on the platforms; their webhooks were received and applied")
    redact_one_customer(demo, shop_id)
    drain(demo)
    echo("a shopper's erasure request (customers/redact) was received and honoured")
    portal = demo.sandbox.world.hubspot  # pushed to once scored, so it gets the segments too
    line, pushed = connect_and_push(
        demo.app, score_all(demo.app), demo.sandbox.world.manifest()["hubspot"], portal.counts
    )
    echo(line)
    echo(f"demo finished in {time.monotonic() - started:.0f} s")
    for line in summary(demo.app, rescore=False):  # scored for the push just now: what it sent
        echo(line)
    echo(dashboard_login(demo, serving))
    echo(f"log: {log_path(settings_of(demo.app).instance_path)}")
    if failed or not pushed:
        raise SystemExit(1)
    return demo


def serve_until_interrupted(demo: Demo) -> int:
    """Keep the connector serving (this process), with a worker and cron beside it, until Ctrl-C."""
    from connector.runtime.processes import run_all

    settings = demo.app.extensions["crm.settings"]
    env = {
        "REDIS_URL": demo.app.extensions["crm.redis_url"],
        "DATABASE_URL": settings.database_url,
        "CONNECTOR_INSTANCE_PATH": str(settings.instance_path),
        "APP_URL": settings.app_url,
        "SHOPIFY_API_KEY": str(settings.shopify_api_key),
        "SHOPIFY_API_SECRET": str(settings.shopify_api_secret),
        "SHOPIFY_SHOP_URL_TEMPLATE": settings.shopify_shop_url_template,
        "SHOPIFY_SCOPES": DEMO_SCOPES,
        "CONNECTOR_ALLOW_PRIVATE_URLS": "true",
    }
    return run_all({"worker": ["worker"], "cron": ["cron"]}, env, log_file=log_path(settings.instance_path))
