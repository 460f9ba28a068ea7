"""Product subscriptions end to end: people subscribe through the storefront form, confirm
by the link e-mailed to them, and new products published in the sandbox reach a real SMTP
server on loopback exactly once per matching contact and product; nobody unconfirmed or
unsubscribed gets one, and bad form input changes nothing."""

from __future__ import annotations

import re
import socket
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from connector.crm.notifications import send_pending
from connector.db import get_engine
from connector.db.models import Contact
from connector.db.operations import NotificationOutbox
from connector.db.people import ProductSubscription
from sandbox.world import World
from sync.engine import run_step
from tests.crm.conftest import SIZES, sandbox_store
from tests.rig import Rig, build

pytestmark = pytest.mark.slow


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    handler = Inbox()
    with socket.socket() as probe:  # aiosmtpd checks its own port after starting: name a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def mailing_rig(
    app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str, inbox: tuple[Inbox, str]
) -> Iterator[Rig]:
    env = {**app_env, "SMTP_URL": inbox[1]}
    yield from build(env, World(seed=31, sizes=SIZES, plan="plus"), redis_url)


def body(message: Any) -> str:
    """The plain-text part (a product message also has an HTML one)."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    text: str = part.get_payload(decode=True).decode()
    return text


def link(message: Any, label: str) -> str:
    found = re.search(label + r" (\S+)", body(message))
    assert found, body(message)
    return found.group(1)


def subscribe(rig: Rig, email: str, scope: str = "store", value: str | None = None) -> requests.Response:
    return requests.post(
        f"{rig.url}/subscribe/{rig.shop.store_key}",
        data={"email": email, "scope": scope, **({"value": value} if value else {})},
        timeout=10,
    )


def test_new_products_reach_each_confirmed_subscriber_once(
    mailing_rig: Rig, inbox: tuple[Inbox, str]
) -> None:
    rig, (mail, _url) = mailing_rig, inbox
    engine = get_engine(rig.app)
    # given four people asking through the storefront form, and one bad request
    for email, scope, value in (
        ("all@example.com", "store", None),
        ("northwind@example.com", "vendor", "Northwind"),
        ("never-confirms@example.com", "tag", "eco"),
        ("leaves@example.com", "store", None),
    ):
        assert subscribe(rig, email, scope, value).status_code == 202
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Contact)).scalar_one()
    refused = subscribe(rig, "not-an-address", "vendor", "Northwind")
    assert refused.status_code == 400 and "email" in refused.json()["message"]
    assert subscribe(rig, "x@example.com", "vendor").status_code == 400  # the vendor is missing
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Contact)).scalar_one() == before
    # when three confirm through the link in the e-mail they got
    with rig.app.app_context():
        assert send_pending(rig.app)["sent"] == 4
    for email in ("all@example.com", "northwind@example.com", "leaves@example.com"):
        (confirmation,) = mail.to(email)
        assert requests.get(link(confirmation, "Confirm here:"), timeout=10).status_code == 200
    time.sleep(1.1)  # platform times have whole seconds: publish strictly after the confirmations
    # and the shop publishes new products, then syncs its products again (the same products twice)
    first = publish(rig, 6)
    leaves = notifications(mail, "leaves@example.com")
    assert len(leaves) == len(first["all"])
    assert requests.post(link(leaves[0], "Stop these e-mails:"), timeout=10).status_code == 200
    second = publish(rig, 6)
    # then everyone got exactly one message per matching product, and nobody else got any
    got = Counter((m["To"], m["Subject"]) for m in mail.messages if m["Subject"].startswith("New at"))
    assert set(got.values()) == {1}
    expected = {
        "all@example.com": first["all"] + second["all"],
        "northwind@example.com": first["Northwind"] + second["Northwind"],
        "leaves@example.com": first["all"],
    }
    for email, titles in expected.items():
        assert sorted(s.split(": ", 1)[1] for (to, s) in got if to == email) == sorted(titles), email
    assert not notifications(mail, "never-confirms@example.com")
    assert expected["northwind@example.com"], "the generator publishes Northwind products"
    with engine.connect() as conn:
        left = conn.execute(
            select(NotificationOutbox.status, func.count()).group_by(NotificationOutbox.status)
        ).all()
        subs = conn.execute(
            select(ProductSubscription.confirmed_at, ProductSubscription.unsubscribed_at)
        ).all()
    assert dict(left).keys() <= {"sent", "cancelled"}
    assert sum(1 for c, u in subs if c and u) == 1


def notifications(mail: Inbox, email: str) -> list[Any]:
    return [m for m in mail.to(email) if m["Subject"].startswith("New at")]


def publish(rig: Rig, count: int) -> dict[str, list[str]]:
    """Create products in the sandbox (webhooks delivered), re-sync products, send; the titles
    of the published ones: all of them, and Northwind's."""
    ids = rig.mutate("shopify", "products", "create", count)
    rig.settle()
    with rig.app.app_context():
        assert run_step(rig.app, rig.shop.id, "products", "test-owner", full=True).outcome == "done"
        send_pending(rig.app)
    store = sandbox_store(rig, rig.shop.id)
    data = [store.get("products", store.index_of("products", pid)).data for pid in ids]  # type: ignore[arg-type]
    live = [p for p in data if p["published"]]
    return {
        "all": [p["title"] for p in live],
        "Northwind": [p["title"] for p in live if p["vendor"] == "Northwind"],
    }
