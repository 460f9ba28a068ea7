"""The demo's terminal summary and the dashboard / API of its sign-in show the same figures
for the same account: one account holds both demo stores, a person who bought in both is one
contact, and another merchant's data in the same database changes nothing in either; the
HubSpot portal it pushed to holds exactly the account's contacts and orders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from connector import create_app, db
from connector.cli.demo import DEMO_LOGIN, account_of, summary
from connector.crm import destination_views, insights
from connector.db.models import Account, Contact, Order, Store
from connector.db.operations import (
    DeadLetter,
    DestinationMark,
    DestinationRecord,
    NotificationOutbox,
    WebhookInbox,
)
from connector.db.people import ContactInsight
from connector.db.types import utcnow
from connector.runtime import queue
from connector.web import formatting, words
from connector.web.api import create_token
from tests.test_demo import cli, free_port
from tests.test_overview import kpi as _kpi

pytestmark = pytest.mark.slow
SIZES = ["--customers", "60", "--orders", "300", "--products", "20"]


@pytest.fixture
def finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, list[str]]]:
    """`crm-connector demo --no-serve` run to the end; then the instance it left, opened."""
    done = cli(tmp_path, "demo", "--no-serve", "--port", str(free_port()), *SIZES)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"CONNECTOR_INSTANCE_PATH": str(tmp_path / "demo")})
    yield app, done.stdout.splitlines()
    db.get_engine(app).dispose()
    queue.shutdown(app)


def another_merchant(app: Flask) -> None:
    """A second account in the same database, with champions, mail, deliveries and a failure."""
    now = utcnow()
    with db.get_engine(app).begin() as conn:
        account = conn.execute(insert(Account).values(name="other").returning(Account.id)).scalar_one()
        store = conn.execute(
            insert(Store)
            .values(account_id=account, platform="shopify", domain="other.myshopify.com", store_key="k-other")
            .returning(Store.id)
        ).scalar_one()
        for n in range(7):
            contact = conn.execute(
                insert(Contact).values(account_id=account, email=f"o{n}@x.example").returning(Contact.id)
            ).scalar_one()
            conn.execute(
                insert(ContactInsight).values(
                    store_id=store, contact_id=contact, orders=3, spend=Decimal("90"), currency="USD",
                    last_order_at=now - timedelta(days=2), segment="champions",
                )
            )  # fmt: skip
            conn.execute(
                insert(NotificationOutbox).values(
                    store_id=store, contact_id=contact, kind="product", dedup_key=f"other-{n}",
                    recipient=f"o{n}@x.example", subject="s", body="b", status="sent",
                )
            )  # fmt: skip
        conn.execute(
            insert(WebhookInbox).values(
                store_id=store,
                platform="shopify",
                topic="orders/create",
                dedup_key="d-other",
                body=b"{}",
                status="done",
            )
        )
        conn.execute(
            insert(DeadLetter).values(
                store_id=store, kind="webhook", reason="a record that could not be read"
            )
        )


def api(app: Flask) -> tuple[FlaskClient, dict[str, str]]:
    with db.session(app) as s, s.begin():
        token = create_token(s, account_of(app), "summary test")
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def read(client: FlaskClient, headers: dict[str, str], path: str) -> Any:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200 and answer.json is not None, answer.get_data(as_text=True)
    return answer.json


def every_contact(client: FlaskClient, headers: dict[str, str], **args: str) -> list[dict[str, Any]]:
    found, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/contacts", query_string={**args, "limit": 200, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        ).json  # fmt: skip
        assert page is not None
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def test_the_summary_and_the_api_of_the_sign_in_agree(finished: tuple[Flask, list[str]]) -> None:
    # given the demo's run, and another merchant's data added to the same database afterwards
    app, printed = finished
    another_merchant(app)
    # when the summary is computed again for the sign-in's account
    lines = summary(app)
    # then it is what the demo printed (the other account changed nothing) ...
    start = printed.index("the account of the sign-in below holds:")
    assert printed[start : start + len(lines)] == lines
    text = "\n".join(lines)
    # ... and every figure is the API's for the same account
    client, headers = api(app)
    stores = read(client, headers, "/api/v1/stores")["stores"]
    assert sorted(s["platform"] for s in stores) == ["magento", "shopify", "woocommerce"]  # one account
    for s in stores:
        [line] = [ln for ln in lines if f" {s['domain']} " in ln]
        for entity, held in s["entities"].items():
            assert f"{held['count']:,} {entity}" in line, (line, entity)
    segments = read(client, headers, "/api/v1/segments")["items"]
    for s in stores:
        mine = [
            f"{g['contacts']:,} {words.segment_name(g['segment']).lower()}"
            for g in segments
            if g["store_id"] == s["id"]
        ]
        assert f"  segments, {s['domain']}: " + ", ".join(mine) in lines
    assert "other.myshopify.com" not in text and "open dead letters: 0" in text
    report = read(client, headers, "/api/v1/reports/channels")
    assert f"top channels, {report['since'][:10]} to {report['until'][:10]}" in text
    overview_days = re.search(r"  overview, (\S+) to (\S+) ", text)
    channel_days = re.search(r"  top channels, (\S+) to (\S+) ", text)
    assert overview_days and channel_days and overview_days.groups() == channel_days.groups()  # one period
    for row in report["channels"][:4]:
        shown = (
            rf"{re.escape(words.channel_name(row['channel']))}\s+"
            rf"{re.escape(formatting.money(row['revenue'], row['currency']))}"
            rf"\s.*\s{row['orders']:,} orders?\s"
        )
        assert re.search(shown, text), (shown, text)
    # and the people who bought in both stores are one contact each, as many as the list shows
    across = every_contact(client, headers, across_stores="true")
    assert across and f"contacts who bought in more than one store: {len(across):,}" in text
    sent = re.search(r"e-mails sent: .*\(each an \.eml file in (\S+)\)", text)
    assert sent and len(list(Path(sent.group(1)).glob("*.eml"))) == 7  # 2 confirmations, 5 products


def test_the_printed_sign_in_opens_the_dashboard_of_that_account(finished: tuple[Flask, list[str]]) -> None:
    app, printed = finished
    browser = signed_in(app, printed)
    stores = browser.get("/stores").get_data(as_text=True)
    assert "sandbox-shop-1.myshopify.com" in stores and "/woo/site-1" in stores
    both = browser.get("/contacts", query_string={"across_stores": "true"}).get_data(as_text=True)
    client, headers = api(app)
    first = every_contact(client, headers, across_stores="true")[0]
    assert f"/contacts/{first['id']}" in both
    # the Overview the sign-in opens on shows the figures the terminal printed for the same period
    start = next(i for i, ln in enumerate(printed) if ln.startswith("  overview, "))
    period = re.search(r"overview, (\S+) to (\S+) ", printed[start])
    assert period
    overview = browser.get("/?period=12m").get_data(as_text=True)
    assert f"{period.group(1)} to {period.group(2)}" in overview
    figures = read(client, headers, "/api/v1/overview?period=12m")
    for line, m in zip(printed[start + 1 :], figures["money"], strict=False):
        revenue, orders = re.findall(r"(\S+) revenue from (\S+) orders?", line)[0]
        assert f'<div class="figure">{revenue}</div>' in _kpi(overview, f"{m['currency']}-revenue")
        assert f'<div class="figure">{orders}</div>' in _kpi(overview, f"{m['currency']}-orders")
    new, returning = re.findall(r"(\S+) new customers?, (\S+) returning", "\n".join(printed[start:]))[0]
    assert f'<div class="figure">{new}</div>' in _kpi(overview, "new")
    assert f'<div class="figure">{returning}</div>' in _kpi(overview, "returning")


def live_ids(app: Flask) -> dict[str, set[int]]:
    """The sign-in's account's contacts and orders a destination should hold (as the push reads
    them: merged-away, deleted and erased ones hold nothing)."""
    account = account_of(app)
    with db.get_engine(app).connect() as conn, app.app_context():
        people = conn.execute(
            select(Contact.id).where(Contact.account_id == account, Contact.merged_into_id.is_(None))
        ).scalars()
        orders = conn.execute(
            select(Order.id)
            .join(Store, Store.id == Order.store_id)
            .where(Store.account_id == account, Order.deleted_at.is_(None))
        ).scalars()
        contact_views = destination_views.contacts(
            conn, account, list(people), insights.Rules.of(app), utcnow()
        )
        order_views = destination_views.orders(conn, account, list(orders))
    return {
        "contacts": {i for i, v in contact_views.items() if v},
        "orders": {i for i, v in order_views.items() if v},
    }


def test_the_portal_holds_exactly_the_accounts_contacts_and_the_page_shows_them(
    finished: tuple[Flask, list[str]],
) -> None:
    # given the demo's run, which connected the sandbox's HubSpot portal and pushed once
    app, printed = finished
    [line] = [ln for ln in printed if ln.startswith("pushed to HubSpot (sandbox): ")]
    found = re.search(r"the portal holds (\d+) contacts, (\d+) orders; destination (\d+) ", line)
    assert found, line
    held_contacts, held_orders, dest_id = map(int, found.groups())
    # when what the account holds is read from the instance it left
    should = live_ids(app)
    with db.get_engine(app).connect() as conn:
        records = conn.execute(
            select(DestinationRecord.object, DestinationRecord.record_id, DestinationRecord.state).where(
                DestinationRecord.destination_id == dest_id
            )
        ).all()
        marks = conn.execute(
            select(DestinationMark.id).where(DestinationMark.destination_id == dest_id)
        ).all()
    # then the portal holds as many records as the account has, each of them pushed, none waiting
    assert (held_contacts, held_orders) == (len(should["contacts"]), len(should["orders"]))
    for obj, ids in should.items():
        assert {r for o, r, state in records if o == obj and state == "pushed"} == ids, obj
    assert {state for _, _, state in records} == {"pushed"} and marks == []
    # and the sign-in's Destinations page shows the destination with those counts
    browser = signed_in(app, printed)
    page = browser.get("/destinations").get_data(as_text=True)
    table = page.split('<table id="destinations">', 1)[1].split("</table>", 1)[0]
    assert f'<td rowspan="2">{dest_id}</td><td rowspan="2">hubspot</td>' in table
    for obj, ids in should.items():
        assert f"<td>{obj}</td><td>{formatting.number(len(ids))}</td><td>0</td><td>0</td>" in table, table
    assert "None: every record went through." in page


def signed_in(app: Flask, printed: list[str]) -> FlaskClient:
    """A browser signed in with the password the demo printed."""
    [line] = [ln for ln in printed if f"sign in as {DEMO_LOGIN} with " in ln]
    browser = app.test_client()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").get_data(as_text=True))
    assert csrf
    form = {"email": DEMO_LOGIN, "password": line.rsplit(" ", 1)[-1], "csrf_token": csrf.group(1)}
    assert browser.post("/login", data=form).status_code == 302
    return browser
