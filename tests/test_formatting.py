"""Numbers, money and times for people, per the browser's locale; codes as words; and
platform text on the stores page escaped, whatever it holds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import update

from connector import create_app
from connector.db import get_engine
from connector.db.models import Store
from connector.db.types import utcnow
from connector.web import formatting, words
from tests.test_error_pages import signed_in


def test_money_and_numbers_follow_the_browsers_locale(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "de-DE,de;q=0.9"}):
        assert formatting.money(Decimal("31018.83"), "USD") == "31.018,83\xa0$"
        assert formatting.number(583217) == "583.217"
        assert formatting.language() == "de"
    with app.test_request_context(headers={"Accept-Language": "en-US"}):
        assert formatting.money("31018.83", "USD") == "$31,018.83"
        assert formatting.money("583217.42", None) == "583,217.42"  # no currency: the number alone
        assert formatting.money("5", "<b>") == "5.00 <b>"  # not a currency code: shown as given
        assert formatting.percent(0.623) == "62%"
        assert formatting.counted(1, "order") == "1 order" and formatting.counted(2, "order") == "2 orders"


def test_times_and_etas_in_words(app: Flask) -> None:
    with app.test_request_context():
        assert formatting.ago(utcnow() - timedelta(minutes=3)) == "3 minutes ago"
        assert formatting.ago((utcnow() + timedelta(hours=2, minutes=1)).isoformat()) == "in 2 hours"
        assert formatting.duration(90) == "2 minutes" and formatting.duration(5) == "5 seconds"
        assert formatting.exact("2026-12-01T18:43:00+00:00") == "Dec 1, 2026, 6:43:00\u202fPM UTC"
        assert formatting.ago("not a time") == "" and formatting.duration(None) == ""


def test_exact_times_are_in_the_merchants_time_zone(app_env: dict[str, str]) -> None:
    berlin = create_app({**app_env, "CONNECTOR_TIME_ZONE": "Europe/Berlin"})
    with berlin.test_request_context():
        assert formatting.exact("2026-12-01T18:43:00+00:00") == "Dec 1, 2026, 7:43:00\u202fPM CET"
        assert formatting.exact("2026-07-01T18:43:00Z") == "Jul 1, 2026, 8:43:00\u202fPM CEST"  # summer time
    with create_app({**app_env, "CONNECTOR_TIME_ZONE": "America/New_York"}).test_request_context():
        assert (
            formatting.exact("2026-12-01T03:00:00+00:00") == "Nov 30, 2026, 10:00:00\u202fPM EST"
        )  # the day before
    berlin.extensions["crm.engine"].dispose()


def test_codes_become_words_with_definitions() -> None:
    assert words.segment_name("cant_lose") == "Can't lose them"
    assert "R 3" in words.segment_definition("need_attention")
    assert words.channel_name("draft_manual") == "Draft / phone / manual"
    assert words.consent_words("not_subscribed").startswith("not subscribed")
    assert words.code_words("partially_refunded") == "partially refunded"
    assert words.segment_name("someday_new") == "someday new"  # an unnamed code is still shown


def test_platform_text_on_the_stores_page_is_escaped(app: Flask) -> None:
    browser = signed_in(app)
    with get_engine(app).begin() as conn:
        conn.execute(
            update(Store).values(
                status="paused", status_reason='<script>alert("x")</script> said the platform'
            )
        )
    page = browser.get("/stores").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert 'data-state="needs_attention"' in page
