"""The dashboard in a real headless Chromium (Debian's `chromium` and `chromedriver`): a
merchant signs in, searches contacts, opens one, reads the channel report and the other
pages; a screenshot of each page is saved under `tests/artifacts/` and must show real data.
Every page keeps to the Content-Security-Policy (the browser reports nothing refused).
Without a session nothing is shown, a form without its CSRF token changes nothing, and a
sign-in sees only its own account's records."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import insert, select

from connector.db import get_engine
from connector.db.models import Account, Contact, Store
from connector.web.dashboard import create_user
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import Rig, build_synced

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "correct horse battery"


@pytest.fixture
def site(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    world = World(seed=9, sizes=Sizes(customers=80, orders=500, products=20), plan="plus")
    for rig in build_synced(app_env, world, redis_url):
        with get_engine(rig.app).begin() as conn:
            account = conn.execute(select(Store.account_id).where(Store.id == rig.shop.id)).scalar_one()
            create_user(conn, account, "owner@shop.example", PASSWORD)
        yield rig


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: .ci/run installs chromium and chromium-driver")
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    options = Options()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # to read CSP reports
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    yield chrome
    chrome.quit()


def follow(browser: webdriver.Chrome, element: WebElement) -> None:
    """Click something that loads a page, and wait until the new page has replaced the old.

    The old page is marked first; the wait ends when a fully loaded document without the mark
    is there. While the documents swap, Chrome may answer any command with an error (a node
    "does not belong to the document"), so errors during the wait mean "not yet"."""
    browser.execute_script("document.documentElement.dataset.leaving = 'yes'")
    element.click()
    WebDriverWait(browser, 30, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script(
            "return document.readyState === 'complete' && !document.documentElement.dataset.leaving"
        )
    )


def shot(browser: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / f"dashboard-{name}.png"))


def test_a_merchant_signs_in_searches_and_reads_the_channel_report(
    site: Rig, browser: webdriver.Chrome
) -> None:
    browser.get(f"{site.url}/contacts")
    assert "/login" in browser.current_url  # nothing without signing in
    browser.find_element(By.ID, "email").send_keys("owner@shop.example")
    browser.find_element(By.ID, "password").send_keys("wrong password!")
    follow(browser, browser.find_element(By.ID, "sign-in"))
    assert "Wrong e-mail or password" in browser.find_element(By.ID, "login-error").text
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    follow(browser, browser.find_element(By.ID, "sign-in"))
    assert browser.current_url.endswith("/contacts")  # back where they were going
    # stores: both, with their records counted
    browser.get(f"{site.url}/stores")
    cards = browser.find_elements(By.CSS_SELECTOR, ".store")
    assert len(cards) == 2 and site.shop.domain in cards[0].text and "checkouts" in cards[0].text
    shot(browser, "stores")
    # a search finds the person and their page shows orders with tracking
    with get_engine(site.app).connect() as conn:
        someone = conn.execute(
            select(Contact).where(Contact.first_name.is_not(None), Contact.merged_into_id.is_(None)).limit(1)
        ).one()
    browser.get(f"{site.url}/contacts")
    browser.find_element(By.ID, "q").send_keys(someone.email)
    follow(browser, browser.find_element(By.ID, "search"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#contacts tr")[1:]
    assert len(rows) == 1 and someone.email in rows[0].text
    shot(browser, "contacts")
    follow(browser, rows[0].find_element(By.TAG_NAME, "a"))
    assert someone.last_name in browser.find_element(By.TAG_NAME, "h1").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#orders tr")) > 1
    shot(browser, "contact")
    # the channel report over all time, with its chart
    browser.get(f"{site.url}/channels?since=2000-01-01")
    names = [
        r.find_elements(By.TAG_NAME, "td")[0].text
        for r in browser.find_elements(By.CSS_SELECTOR, "#channels tr")[1:]
    ]
    assert "Online store" in names  # and the chart of revenue by channel is drawn, one bar each
    bars = browser.execute_script(
        "return Chart.getChart(document.querySelector('figure.chart canvas')).data.labels"
    )
    assert bars == [n for n in names if n in bars] and set(bars) == set(names)
    shot(browser, "channels")
    for page, marker in (
        ("sales", "#sales tr"),
        ("segments", "#segments tr"),
        ("subscriptions", "#subscriptions tr"),
    ):
        browser.get(f"{site.url}/{page}")
        assert browser.find_elements(By.CSS_SELECTOR, marker)
        shot(browser, page)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#subscriptions tr")) >= 1
    # connecting a WooCommerce site: the form's answer sends the browser on to the site's
    # approval page (another origin), which the policy allows for this form alone
    browser.get(f"{site.url}/woocommerce/connect")
    browser.find_element(By.ID, "store_url").send_keys(
        site.sandbox.world.manifest()["woocommerce"]["stores"][0]["url"]
    )
    follow(browser, browser.find_element(By.ID, "connect"))
    assert "The store is connected." in browser.page_source, browser.page_source[:500]
    browser.get(f"{site.url}/")
    # the Content-Security-Policy (no inline style or script) broke nothing: the stylesheet is
    # applied and the browser refused nothing on any page
    header = browser.find_element(By.TAG_NAME, "header")
    assert header.value_of_css_property("background-color") == "rgba(20, 33, 61, 1)"
    refused = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []


def test_forms_need_their_token_and_a_sign_in_sees_one_account(site: Rig) -> None:
    client = site.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert (
        client.post("/login", data={"email": "owner@shop.example", "password": PASSWORD}).status_code == 400
    )
    assert (
        client.post(
            "/login", data={"email": "owner@shop.example", "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    assert client.post("/dead-letters/retry-all").status_code == 400  # no token: nothing retried
    exported = client.get("/contacts.csv?inactive=true")
    assert exported.mimetype == "text/csv" and exported.get_data(as_text=True).startswith("id,email,")
    # another merchant's contact is not found from this sign-in
    with get_engine(site.app).begin() as conn:
        other = conn.execute(insert(Account).values(name="other").returning(Account.id)).scalar_one()
        theirs = conn.execute(
            insert(Contact).values(account_id=other, email="x@other.example").returning(Contact.id)
        ).scalar_one()
    assert client.get(f"/contacts/{theirs}").status_code == 404
    assert "x@other.example" not in client.get("/contacts?q=other.example").get_data(as_text=True)
