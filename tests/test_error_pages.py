"""Errors in the product's voice: a person's browser gets a page in the dashboard's look
saying what to do (404, 405, 500), the API and other machine routes get JSON; a filter the
channel report does not take is refused in a sentence instead of being ignored, and the
report's default period is the demo summary's (12 months)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.db import get_engine
from connector.db.models import Store
from connector.web.dashboard import create_user
from connector.web.queries.reports import CHANNEL_DAYS
from tests.builders import make_store

PASSWORD = "correct horse battery"


def signed_in(app: Flask) -> FlaskClient:
    with get_engine(app).begin() as conn:
        store = make_store(conn)
        account = conn.execute(select(Store.account_id).where(Store.id == store)).scalar_one()
        create_user(conn, account, "owner@shop.example", PASSWORD)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"email": "owner@shop.example", "password": PASSWORD, "csrf_token": token.group(1)}
    assert browser.post("/login", data=form).status_code == 302
    return browser


def test_an_unknown_page_is_answered_in_the_dashboards_look(app: Flask) -> None:
    answer = app.test_client().get("/no-such-page")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "Page not found" in page and "dashboard.css" in page and 'id="error-404"' in page
    assert "The requested URL was not found on the server" not in page  # not Werkzeug's page
    assert "Sign in" in page  # nobody is signed in: the way back says so


def test_machine_routes_answer_json(app: Flask) -> None:
    answer = app.test_client().get("/api/v1/no-such-thing")
    assert answer.status_code == 404 and answer.json is not None
    assert answer.json["status"] == 404 and answer.json["message"]


def test_a_wrong_method_is_a_page_too(app: Flask) -> None:
    answer = signed_in(app).post("/contacts")
    assert answer.status_code == 405 and "Not possible here" in answer.get_data(as_text=True)


def test_an_unexpected_failure_is_a_styled_500_and_logged(app: Flask) -> None:
    browser = signed_in(app)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error is answered, not raised
    with get_engine(app).begin() as conn:  # given the database lost a table the page reads
        conn.exec_driver_sql("ALTER TABLE contact_insights RENAME TO contact_insights_gone")
    try:
        answer = browser.get("/segments")
    finally:
        with get_engine(app).begin() as conn:
            conn.exec_driver_sql("ALTER TABLE contact_insights_gone RENAME TO contact_insights")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 500 and "Something went wrong" in page and 'id="error-500"' in page
    assert "contact_insights" not in page  # nothing of the fault is shown to the merchant


def test_a_filter_the_channel_report_does_not_take_is_refused(app: Flask) -> None:
    browser = signed_in(app)
    answer = browser.get("/channels", query_string={"from": "garbage"})
    assert answer.status_code == 400
    assert "from: this list takes page, per_page, sort, format, since, until, not from" in answer.get_data(
        as_text=True
    )


def test_the_channel_reports_default_period_is_twelve_months(app: Flask) -> None:
    page = signed_in(app).get("/channels").get_data(as_text=True)
    since = re.search(r'name="since" value="(\d{4}-\d{2}-\d{2})"', page)
    until = re.search(r'name="until" value="(\d{4}-\d{2}-\d{2})"', page)
    assert since and until
    days = (datetime.fromisoformat(until.group(1)) - datetime.fromisoformat(since.group(1))).days
    assert CHANNEL_DAYS == 365 and timedelta(days=days + 1) == timedelta(days=CHANNEL_DAYS)  # today included
