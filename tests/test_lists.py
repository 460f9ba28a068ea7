"""Every dashboard list is paged, sorted and filtered with its total, and exports what it
filters as CSV (issue 17): over real orders written by the write path, through the real
Flask stack with a signed-in merchant. Bad paging or sort arguments answer a 400 page naming
the argument; a page past the end is an empty page that says so; no list is cut short; a
cell a spreadsheet would run is neutralised; another account's rows never show."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update

from connector.db import dead_letters, get_engine
from connector.db.models import Account, Contact, Store
from connector.db.people import ProductSubscription
from connector.web.dashboard import create_user
from connector.write.apply import apply_batch
from tests.builders import fixture, make_store, order_batch

EMAIL, PASSWORD = "owner@lists.example", "correct horse battery"
DASH = "\u2013"  # the pager's range: 1\u201350 of 56
EVIL = "=cmd|'/c calc'!A1@x.example"
START = datetime(2026, 1, 1, 9, tzinfo=UTC)
DAYS = 310  # more rows than the old page cut of 300


def items(order: int) -> dict[str, Any]:
    """The fixture order's five line items, with ids of this order's own."""
    lines = fixture("shopify/webhook-orders-create.json")["line_items"]
    return {"line_items": [{**line, "id": order * 10 + i} for i, line in enumerate(lines)]}


@pytest.fixture
def shop(app: Flask) -> int:
    """A shop with one order a day for DAYS days, each by a shopper of their own (one of
    them with a name a spreadsheet would run), and one shopper with 60 orders."""
    with get_engine(app).begin() as conn:
        store = make_store(conn)
        account = conn.execute(select(Store.account_id).where(Store.id == store)).scalar_one()
        create_user(conn, account, EMAIL, PASSWORD)
        for day in range(DAYS):
            email = f"shopper{day:03d}@lists.example"
            created = START + timedelta(days=day)
            apply_batch(
                conn, store, order_batch(5000 + day, created=created, email=email, **items(5000 + day))
            )
        for n in range(60):
            created = START + timedelta(days=n, hours=3)
            loyal = order_batch(9000 + n, created=created, email="loyal@lists.example", **items(9000 + n))
            apply_batch(conn, store, loyal)
        conn.execute(
            insert(Contact).values(
                account_id=account, email=EVIL, email_normalized=EVIL.lower(), first_name="@SUM(1)"
            )
        )
    return store


@pytest.fixture
def client(app: Flask, shop: int) -> Iterator[FlaskClient]:
    c = app.test_client()
    with app.app_context():
        page = c.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
    with app.app_context():
        assert (
            c.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}).status_code
            == 302
        )
    yield c


def rows_of(answer: object) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))  # type: ignore[attr-defined]


def test_contacts_are_paged_with_their_total_and_sorted_by_a_whitelisted_column(client: FlaskClient) -> None:
    contacts = DAYS + 2  # the daily shoppers, the loyal one, the formula one
    last = client.get("/contacts", query_string={"per_page": 100, "page": 4, "sort": "email"})
    text = last.get_data(as_text=True)
    assert last.status_code == 200
    assert f"301{DASH}{contacts} of {contacts} contacts" in text and "page 4 of 4" in text
    assert text.count('href="/contacts/') == contacts - 300
    first = client.get("/contacts", query_string={"per_page": 5, "sort": "email"}).get_data(as_text=True)
    assert first.index("=cmd") < first.index("loyal@") < first.index("shopper000@")  # by e-mail, ascending
    down = client.get("/contacts", query_string={"per_page": 5, "sort": "-orders"}).get_data(as_text=True)
    assert down.index("loyal@") < down.index("shopper")  # 60 orders first
    assert 'aria-sort="descending"' in down


def test_a_page_past_the_end_is_an_empty_page_that_says_so(client: FlaskClient) -> None:
    answer = client.get("/contacts", query_string={"page": 999999})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Page 999,999 is past the end" in text
    assert 'href="/contacts/' not in text and "Back to the first page" in text


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/contacts", {"sort": "password_hash"}, "sort"),
        ("/contacts", {"sort": "email; DROP TABLE contacts"}, "sort"),
        ("/contacts", {"page": "0"}, "page"),
        ("/contacts", {"page": "-1"}, "page"),
        ("/contacts", {"page": "1e9"}, "page"),
        ("/contacts", {"per_page": "201"}, "per_page"),
        ("/contacts", {"format": "xlsx"}, "format"),
        ("/contacts", {"cursor": "5"}, "cursor"),  # the old keyset argument is refused, not ignored
        ("/sales", {"sort": "secret"}, "sort"),
        ("/sales", {"product": "x" * 201}, "product"),
        ("/sales", {"from": "2026-01-01"}, "from"),
        ("/channels", {"sort": "credit OR 1=1"}, "sort"),
        ("/segments", {"r_page": "x"}, "r_page"),
        ("/segments", {"what": "1"}, "what"),
        ("/subscriptions", {"state": "maybe"}, "state"),
        ("/failed-records", {"kind": "all"}, "kind"),
        ("/failed-records", {"per_page": "0"}, "per_page"),
    ],
)
def test_bad_list_arguments_answer_a_400_page_naming_them(
    client: FlaskClient, path: str, params: dict[str, str], name: str
) -> None:
    answer = client.get(path, query_string=params)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and f"{name}:" in text and "Traceback" not in text


def test_the_contacts_csv_holds_every_filtered_row_in_the_order_shown_and_runs_nothing(
    client: FlaskClient,
) -> None:
    answer = client.get(
        "/contacts", query_string={"format": "csv", "sort": "-email", "page": 3, "per_page": 5}
    )
    assert answer.mimetype == "text/csv"
    rows = rows_of(answer)
    assert len(rows) == DAYS + 2  # every row, not the page's five
    assert [r["email"] for r in rows[:2]] == ["shopper309@lists.example", "shopper308@lists.example"]
    [evil] = [r for r in rows if "calc" in r["email"]]
    assert evil["email"].startswith("'=") and evil["first_name"] == "'@SUM(1)"
    found = rows_of(client.get("/contacts.csv", query_string={"q": "loyal"}))
    assert [r["email"] for r in found] == ["loyal@lists.example"] and found[0]["orders"] == "60"


def test_sales_are_not_cut_have_totals_and_filter_by_product(client: FlaskClient) -> None:
    period = {"since": "2025-12-01", "until": "2027-01-01", "period": "day"}
    every = rows_of(client.get("/sales", query_string={**period, "format": "csv"}))
    products = {r["title"] for r in every}  # the fixture's lines that are sold products
    assert len(every) == DAYS * len(products) > 300  # every product every day: nothing cut at 300
    units = sum(int(r["units"]) for r in every)
    last_day = sum(int(r["units"]) for r in every if r["period"] == max(r["period"] for r in every))
    assert units == (DAYS + 60) * last_day  # the last day's one order, like every other
    page = client.get("/sales", query_string={**period, "per_page": 200, "page": 2}).get_data(as_text=True)
    assert f"201{DASH}400 of {len(every):,} rows" in page and 'id="sales-totals"' in page
    assert f'<td class="n">{units:,}</td>' in page  # the totals row sums every row, not the page's
    one = sorted(products)[0]
    only = rows_of(client.get("/sales", query_string={**period, "product": one.upper(), "format": "csv"}))
    assert len(only) == DAYS and {r["title"] for r in only} == {one}
    nothing = client.get("/sales", query_string={**period, "product": "no such thing"}).get_data(as_text=True)
    assert "No sales match these filters" in nothing


def test_a_contacts_orders_are_paged(client: FlaskClient, app: Flask) -> None:
    with get_engine(app).connect() as conn:
        loyal = conn.execute(select(Contact.id).where(Contact.email == "loyal@lists.example")).scalar_one()
    page = client.get(f"/contacts/{loyal}", query_string={"o_page": 2}).get_data(as_text=True)
    assert f"51{DASH}60 of 60 orders" in page
    oldest = rows_of(
        client.get(f"/contacts/{loyal}", query_string={"o_format": "csv", "o_sort": "created_at"})
    )
    assert len(oldest) == 60 and oldest[0]["created_at"] < oldest[1]["created_at"] < oldest[-1]["created_at"]


def test_failed_records_and_subscriptions_are_filtered_sorted_and_scoped_to_the_account(
    client: FlaskClient, app: Flask, shop: int
) -> None:
    with get_engine(app).begin() as conn:
        for n in range(55):
            dead_letters.write(conn, shop, "sync", f"record {n} refused", entity="orders", platform_id=n)
        dead_letters.write(conn, shop, "webhook", '=HYPERLINK("http://evil.example")')
        other = conn.execute(insert(Account).values(name="other").returning(Account.id)).scalar_one()
        theirs = make_store(conn, domain="theirs.myshopify.com")
        conn.execute(update(Store).where(Store.id == theirs).values(account_id=other))
        dead_letters.write(conn, theirs, "sync", "their secret failure")
        loyal = conn.execute(select(Contact.id).where(Contact.email == "loyal@lists.example")).scalar_one()
        for n, confirmed in enumerate((None, START, START)):
            conn.execute(
                insert(ProductSubscription).values(
                    store_id=shop, contact_id=loyal, scope_type="vendor", scope_value=f"v{n}",
                    token=f"t{n}", confirmed_at=confirmed,
                )
            )  # fmt: skip
    page = client.get("/failed-records").get_data(as_text=True)
    assert f"1{DASH}50 of 56 failed records" in page and "their secret failure" not in page
    webhooks = rows_of(client.get("/failed-records", query_string={"kind": "webhook", "format": "csv"}))
    assert [r["reason"] for r in webhooks] == ['\'=HYPERLINK("http://evil.example")']
    percent = client.get("/failed-records", query_string={"q": "%"}).get_data(as_text=True)
    assert "0 failed records" in percent  # a literal %, not "anything"
    by_reason = client.get("/failed-records", query_string={"q": "record 4", "sort": "reason"})
    assert f"1{DASH}11 of 11 failed records" in by_reason.get_data(as_text=True)
    sure = client.get("/subscriptions", query_string={"state": "confirmed"}).get_data(as_text=True)
    assert f"1{DASH}2 of 2 subscriptions" in sure
    waiting = rows_of(client.get("/subscriptions", query_string={"state": "waiting", "format": "csv"}))
    assert [r["state"] for r in waiting] == ["waiting"]


def test_reports_sort_by_their_columns(client: FlaskClient) -> None:
    channels = client.get("/channels", query_string={"since": "2025-01-01", "sort": "-orders"})
    assert channels.status_code == 200 and 'aria-sort="descending"' in channels.get_data(as_text=True)
    segments = client.get("/segments", query_string={"sort": "segment", "r_sort": "-email", "r_page": 99})
    assert segments.status_code == 200
    csv_rows = rows_of(client.get("/channels", query_string={"since": "2025-01-01", "format": "csv"}))
    assert sum(int(r["orders"]) for r in csv_rows) == DAYS + 60
