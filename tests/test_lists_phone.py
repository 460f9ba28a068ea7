"""Every dashboard page at phone width (390 px) in a real headless Chromium, over a synced
sandbox shop: no page is wider than its viewport (wide tables scroll in their own box), the
sortable headings and the pager are reachable by keyboard with a visible focus ring, and
every form control has an accessible name. A screenshot of each is saved under
`tests/artifacts/`."""

from __future__ import annotations

from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from connector.db import get_engine
from connector.db.models import Contact
from tests.rig import Rig
from tests.test_dashboard import ARTIFACTS, PASSWORD, browser, follow, site

pytestmark = pytest.mark.slow
__all__ = ["browser", "site"]  # the fixtures, shared with the desktop test
PAGES = ("", "contacts", "channels?since=2000-01-01", "sales?since=2000-01-01", "segments", "subscriptions",
         "failed-records")  # fmt: skip
WIDER = """return [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth && !e.closest('.scroll, header nav'))
  .map(e => e.tagName + '.' + e.className).slice(0, 5);"""
UNNAMED = """return [...document.querySelectorAll('input:not([type=hidden]), select, button')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
  .map(e => e.outerHTML.slice(0, 80));"""


def sign_in(site: Rig, chrome: webdriver.Chrome) -> None:
    chrome.get(f"{site.url}/login")
    chrome.find_element(By.ID, "email").send_keys("owner@shop.example")
    chrome.find_element(By.ID, "password").send_keys(PASSWORD)
    follow(chrome, chrome.find_element(By.ID, "sign-in"))


def widths(chrome: webdriver.Chrome) -> Any:
    return chrome.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")


def test_every_page_fits_a_phone_and_is_usable_by_keyboard(site: Rig, browser: webdriver.Chrome) -> None:
    browser.set_window_size(390, 844)
    sign_in(site, browser)
    with get_engine(site.app).connect() as conn:
        someone = conn.execute(
            select(Contact.id).where(Contact.merged_into_id.is_(None)).limit(1)
        ).scalar_one()
    ARTIFACTS.mkdir(exist_ok=True)
    for page in (*PAGES, f"contacts/{someone}"):
        browser.get(f"{site.url}/{page}")
        scroll_width, viewport = widths(browser)
        wide = browser.execute_script(WIDER)
        assert scroll_width <= viewport, (
            f"/{page} is {scroll_width} px wide in a {viewport} px viewport: {wide}"
        )
        assert browser.execute_script(UNNAMED) == [], page
        name = page.split("?")[0].replace("/", "-") or "stores"
        assert browser.save_screenshot(str(ARTIFACTS / f"phone-{name}.png"))
    # the contacts list by keyboard: Tab reaches a sort heading, Enter sorts, focus is visible
    browser.get(f"{site.url}/contacts")
    heading = browser.find_element(By.CSS_SELECTOR, "#contacts th a.sort")
    for _ in range(60):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element == heading:
            break
    assert browser.switch_to.active_element == heading
    assert heading.value_of_css_property("outline-style") == "solid"
    heading.send_keys(Keys.ENTER)
    WebDriverWait(browser, 30).until(lambda b: "sort=name" in b.current_url)
