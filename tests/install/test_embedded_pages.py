"""The dashboard's pages inside Shopify admin (issue 17): `/shopify/app/<page>` answers the
shop's own account's page for a valid session token (HS256 with the app's secret, `aud` the
API key, `dest` the shop), framed only by that shop's admin, with App Bridge from Shopify's
CDN as the one outside script; a bad, expired, foreign or missing token gets a 401 page that
shows nothing, and another shop's token sees only its own account."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update

from connector import create_app
from connector.db import get_engine
from connector.db.models import Account, Store
from connector.write.apply import apply_batch
from tests.builders import make_store, order_batch

KEY, SECRET = "embedded-api-key", "embedded-api-secret-long-enough-for-hs256"
SHOP, OTHER = "bob-shop.myshopify.com", "alice-shop.myshopify.com"


@pytest.fixture
def app(app_env: dict[str, str]) -> Iterator[Flask]:
    application = create_app({**app_env, "SHOPIFY_API_KEY": KEY, "SHOPIFY_API_SECRET": SECRET})
    with get_engine(application).begin() as conn:
        mine = make_store(conn, domain=SHOP)
        apply_batch(
            conn, mine, order_batch(1, created=datetime(2026, 5, 1, tzinfo=UTC), email="bob@buyer.example")
        )
        theirs = make_store(conn, domain=OTHER)
        other = conn.execute(insert(Account).values(name="Alice").returning(Account.id)).scalar_one()
        conn.execute(update(Store).where(Store.id == theirs).values(account_id=other))
        when = datetime(2026, 5, 2, tzinfo=UTC)
        apply_batch(conn, theirs, order_batch(2, created=when, email="alice@buyer.example"))
    with application.app_context():
        yield application
    application.extensions["crm.engine"].dispose()


def token(shop: str = SHOP, secret: str = SECRET, **claims: object) -> str:
    now = int(time.time())
    payload = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": KEY,
        "sub": "42",
        "exp": now + 60,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": "a-token",
        "sid": "a-session",
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_the_contacts_page_loads_in_the_shops_admin_for_its_account_only(client: FlaskClient) -> None:
    answer = client.get("/shopify/app/contacts", query_string={"id_token": token()})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "bob@buyer.example" in page and "alice@buyer.example" not in page
    policy = answer.headers["Content-Security-Policy"]
    assert f"frame-ancestors https://{SHOP} https://admin.shopify.com" in policy
    assert "script-src 'self' https://cdn.shopify.com;" in policy and "X-Frame-Options" not in answer.headers
    assert page.index('<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js">') < page.index(
        "<title>"
    )
    assert f'<meta name="shopify-api-key" content="{KEY}">' in page
    assert (
        'href="/shopify/app/contacts/' in page and 'href="/shopify/app/sales"' in page
    )  # links stay in the app
    assert "Sign out" not in page and 'method="post"' not in page
    # the page's sort links keep to the app and drop the (short-lived) token
    assert 'href="/shopify/app/contacts?sort=email"' in page
    theirs = client.get("/shopify/app/contacts", headers={"Authorization": f"Bearer {token(OTHER)}"})
    text = theirs.get_data(as_text=True)
    assert theirs.status_code == 200 and "alice@buyer.example" in text and "bob@buyer.example" not in text


def test_every_list_page_and_the_stores_page_load_embedded(client: FlaskClient, app: Flask) -> None:
    with get_engine(app).connect() as conn:
        store = conn.execute(select(Store.id).where(Store.domain == SHOP)).scalar_one()
    for path in (
        "",
        "stores",
        "sales",
        "channels",
        "segments",
        "subscriptions",
        "failed-records",
        "contacts",
    ):
        answer = client.get(f"/shopify/app/{path}", query_string={"id_token": token()})
        assert answer.status_code == 200, path
        assert (
            f"frame-ancestors https://{SHOP} https://admin.shopify.com"
            in answer.headers["Content-Security-Policy"]
        )
    assert f"store-{store}" in client.get("/shopify/app/", query_string={"id_token": token()}).get_data(
        as_text=True
    )


# Each token is made when its test runs: made at collection, a not-yet-valid one could be valid by then.
@pytest.mark.parametrize(
    "make_bad",
    [
        lambda: token(secret="not-the-app-secret-but-long-enough-for-hs256"),
        lambda: token(aud="another-app"),
        lambda: token(exp=int(time.time()) - 120),
        lambda: token(nbf=int(time.time()) + 600),
        lambda: token(dest="https://other.myshopify.com"),  # issuer and destination disagree
        lambda: token("not-installed.myshopify.com"),  # signed well, for a shop that is not here
        lambda: "not.a.jwt",
        lambda: "",
    ],
    ids=["secret", "aud", "expired", "not-yet-valid", "dest", "not-installed", "not-a-jwt", "empty"],
)
def test_a_bad_token_gets_a_401_page_that_shows_nothing(
    client: FlaskClient, make_bad: Callable[[], str]
) -> None:
    bad = make_bad()
    for answer in (
        client.get("/shopify/app/contacts", query_string={"id_token": bad}),
        client.get("/shopify/app/contacts", headers={"Authorization": f"Bearer {bad}"}),
        client.get("/shopify/app/", query_string={"id_token": bad}),
    ):
        page = answer.get_data(as_text=True)
        assert answer.status_code == 401 and "Open this app from your Shopify admin" in page
        assert (
            "buyer.example" not in page
            and "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        )


def test_only_the_dashboards_reading_pages_are_reachable_in_the_app(client: FlaskClient) -> None:
    for path in ("logout", "api/v1/contacts", "dead-letters/retry-all", "no-such-page", "login"):
        assert client.get(f"/shopify/app/{path}", query_string={"id_token": token()}).status_code == 404, path
    standalone = client.get("/login")
    assert "cdn.shopify.com" not in standalone.headers["Content-Security-Policy"]
