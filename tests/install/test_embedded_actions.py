"""Inside Shopify admin the dashboard's actions work (issue 17): a retry posts from the
embedded page with a fresh session token (the sign-in: no cookie reaches a framed app) and
the CSRF token its page was given, signed for that shop. The action runs for the shop's own
account only and its outcome shows on the page it returns to; a post without the page's CSRF
token, with another shop's, or with a bad session token changes nothing."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.db import dead_letters, get_engine
from connector.db.models import Store
from connector.db.operations import DeadLetter
from tests.install import test_embedded_pages as pages
from tests.install.test_embedded_pages import OTHER, SHOP, token

app, client = pages.app, pages.client  # the embedded pages' fixtures: two shops, two accounts


def letters(app: Flask) -> dict[str, int]:
    """A failed notification in each shop (a retry puts it back in the outbox: no network)."""
    with get_engine(app).begin() as conn:
        found = {}
        for shop in (SHOP, OTHER):
            store = conn.execute(select(Store.id).where(Store.domain == shop)).scalar_one()
            dead_letters.write(conn, store, "notification", "refused", platform_id=1)
            found[shop] = conn.execute(select(DeadLetter.id).where(DeadLetter.store_id == store)).scalar_one()
    return found


def resolved(app: Flask, letter: int) -> bool:
    with get_engine(app).connect() as conn:
        return conn.scalar(select(DeadLetter.resolved_at).where(DeadLetter.id == letter)) is not None


def form_of(page: str, action: str) -> str:
    """The CSRF token of the page's form posting to `action`."""
    found = re.search(
        rf'action="{re.escape(action)}"><input type="hidden" name="csrf_token" value="([^"]+)"', page
    )
    assert found, page
    return found.group(1)


def test_a_retry_posted_in_the_admin_runs_and_shows_its_outcome_on_the_stores_page(
    app: Flask,
    client: FlaskClient,
) -> None:
    # given a failed record in the shop, on its embedded Stores page
    mine = letters(app)[SHOP]
    page = client.get("/shopify/app/stores", query_string={"id_token": token()}).get_data(as_text=True)
    action = f"/shopify/app/dead-letters/{mine}/retry"
    assert 'id="full-dashboard"' in page and 'id="logout"' not in page and "Repair</button>" in page
    # when its Retry is posted with a fresh session token and the page's CSRF token
    answer = client.post(action, data={"id_token": token(), "csrf_token": form_of(page, action)})
    # then it ran, and the Stores page says so, framed by the shop's admin only
    shown = answer.get_data(as_text=True)
    assert (
        answer.status_code == 200 and f"Failed record {mine}: the message was put back in the outbox" in shown
    )
    assert resolved(app, mine) and "<h1>Stores</h1>" in shown
    assert (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com"
        in answer.headers["Content-Security-Policy"]
    )


def test_another_accounts_record_is_not_retried_from_the_admin(
    app: Flask,
    client: FlaskClient,
) -> None:
    theirs = letters(app)[OTHER]
    page = client.get("/shopify/app/stores", query_string={"id_token": token()}).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    answer = client.post(
        f"/shopify/app/dead-letters/{theirs}/retry", data={"id_token": token(), "csrf_token": csrf.group(1)}
    )
    assert f"no dead letter {theirs}" in answer.get_data(as_text=True) and not resolved(app, theirs)


@pytest.mark.parametrize("csrf_of", ["none", "garbage", "other shop", "standalone"])
def test_a_post_without_its_pages_csrf_token_changes_nothing(
    app: Flask,
    client: FlaskClient,
    csrf_of: str,
) -> None:
    mine = letters(app)[SHOP]
    others = client.get("/shopify/app/stores", query_string={"id_token": token(OTHER)}).get_data(as_text=True)
    standalone = client.get("/login").get_data(as_text=True)
    csrf = {
        "none": "",
        "garbage": "x.y.z",
        "other shop": re.findall(r'name="csrf_token" value="([^"]+)"', others)[0],  # signed, for Alice's shop
        "standalone": re.findall(r'name="csrf_token" value="([^"]+)"', standalone)[0],  # a cookie-bound one
    }[csrf_of]
    answer = client.post(
        f"/shopify/app/dead-letters/{mine}/retry", data={"id_token": token(), "csrf_token": csrf}
    )
    assert answer.status_code == 400 and "The form expired" in answer.get_data(as_text=True)
    assert not resolved(app, mine)


@pytest.mark.parametrize("bad", ["session token of another app", "no session token", "expired"])
def test_a_post_without_a_good_session_token_is_refused_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    bad: str,
) -> None:
    import time

    mine = letters(app)[SHOP]
    page = client.get("/shopify/app/stores", query_string={"id_token": token()}).get_data(as_text=True)
    action = f"/shopify/app/dead-letters/{mine}/retry"
    sign_in = {
        "session token of another app": token(secret="another-app-secret-long-enough-for-hs256"),
        "no session token": "",
        "expired": token(exp=int(time.time()) - 120),
    }[bad]
    answer = client.post(action, data={"id_token": sign_in, "csrf_token": form_of(page, action)})
    assert answer.status_code == 401 and not resolved(app, mine)


def test_only_the_dashboards_actions_are_posted_in_the_app(client: FlaskClient) -> None:
    for path in ("logout", "login", "stores", "contacts", "woocommerce/connect"):
        answer = client.post(f"/shopify/app/{path}", data={"id_token": token()})
        assert answer.status_code in (400, 404), path  # the CSRF check first, then only actions exist
