"""The answers' hot path (connector/web/hot_path.py): JSON encoded by orjson says what Flask's
own encoder said, and a webhook opens no session while the dashboard's still sign in."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask import Response as FlaskResponse
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from connector.web.hot_path import COMPACT, JSONProvider, Sessions
from connector.web.receivers import bp as webhooks_bp
from tests.webhooks.conftest import SHOP, Stores, post_shopify


@dataclass
class Point:
    x: int
    label: str


# --- given: values of every kind an answer carries ------------------------------------------

ANSWERS: list[Any] = [
    {"status": 200, "message": "accepted", "op": "success"},
    {"b": 1, "a": [1, 2.5, None, True], "c": {"z": "é ✓ \u2028 <script>", "y": ""}},
    {"at": datetime(2026, 12, 4, 18, 30, 5, tzinfo=UTC), "on": date(2026, 12, 4)},
    {"spend": Decimal("1234.50"), "id": uuid.UUID(int=7), "point": Point(3, "p")},
    [{"nested": [{"deeper": Decimal("0.1")}]}],
]


def flask_said(app: Flask, value: Any) -> Any:
    return json.loads(DefaultJSONProvider(app).dumps(value, **COMPACT))


@pytest.mark.parametrize("value", ANSWERS)
def test_an_answer_says_what_flasks_encoder_said(app: Flask, value: Any) -> None:
    # when the app encodes it compactly, as every JSON answer
    said = app.json.dumps(value, **COMPACT)
    # then: the same JSON, keys sorted, dates as HTTP dates, decimals as text
    assert isinstance(app.json, JSONProvider)
    assert json.loads(said) == flask_said(app, value)


def test_orjson_encodes_them(app: Flask) -> None:
    # non-ASCII text comes out as UTF-8, as orjson writes it (the standard library escapes it)
    assert app.json.dumps({"name": "Zoë ✓"}, **COMPACT) == '{"name":"Zoë ✓"}'
    assert DefaultJSONProvider(app).dumps({"name": "Zoë ✓"}, **COMPACT) == '{"name":"Zo\\u00eb \\u2713"}'


@pytest.mark.parametrize(
    "value",
    [MultiDict([("a", "1"), ("a", "2"), ("b", "3")]), {"m": Markup("<b>x</b>")}],
    ids=["a MultiDict", "markup"],
)
def test_subclasses_say_what_their_own_methods_say(app: Flask, value: Any) -> None:
    assert json.loads(app.json.dumps(value, **COMPACT)) == flask_said(app, value)


def test_keys_come_out_sorted(app: Flask) -> None:
    assert (
        app.json.dumps({"b": 1, "a": 2, "c": {"z": 1, "y": 2}}, **COMPACT)
        == '{"a":2,"b":1,"c":{"y":2,"z":1}}'
    )


@pytest.mark.parametrize(
    "value",
    [{1: "a", 2: "b"}, {"big": 2**70}, {"small": -(2**70)}],
    ids=["keys that are not text", "past 64 bits", "below 64 bits"],
)
def test_what_orjson_refuses_goes_to_the_standard_library(app: Flask, value: Any) -> None:
    assert json.loads(app.json.dumps(value, **COMPACT)) == flask_said(app, value)


def test_a_value_neither_encodes_is_refused_as_before(app: Flask) -> None:
    with pytest.raises(TypeError):
        app.json.dumps({"s": {1, 2}}, **COMPACT)
    with pytest.raises(TypeError):
        DefaultJSONProvider(app).dumps({"s": {1, 2}}, **COMPACT)


def test_other_dumps_are_the_standard_librarys(app: Flask) -> None:
    # given a call with its own arguments (a template's tojson, an indented answer in debug mode)
    value = {"b": "é", "a": 1}
    # then it is encoded exactly as before
    assert app.json.dumps(value) == DefaultJSONProvider(app).dumps(value)
    assert app.json.dumps(value, indent=2) == DefaultJSONProvider(app).dumps(value, indent=2)


def test_a_json_answer_is_flasks_answer(app: Flask) -> None:
    with app.test_request_context():
        answer = app.json.response(status=404, message="no such store", when=date(2026, 1, 2))
    assert isinstance(answer, FlaskResponse)
    assert answer.mimetype == "application/json"
    assert answer.get_data(as_text=True).endswith("\n")
    assert answer.get_json() == {
        "message": "no such store",
        "status": 404,
        "when": "Fri, 02 Jan 2026 00:00:00 GMT",
    }


# --- sessions --------------------------------------------------------------------------------


def test_a_webhook_opens_no_session_and_sets_no_cookie(hook_app: Flask, stores: Stores) -> None:
    # given a delivery that arrives with a session cookie a browser once had
    assert any(bp is webhooks_bp for bp in hook_app.blueprints.values())
    cookie = {"Cookie": "session=not-even-signed"}
    # when it is received
    payload = {"id": 1, "email": "a@b.example"}
    answer = post_shopify(hook_app, "customers/create", payload, shop=SHOP, headers=cookie)
    # then it is stored and answered without a cookie
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers


def test_only_a_webhook_goes_without_a_session(app: Flask) -> None:
    sessions = app.session_interface
    for path, opened in (("/webhooks/shopify", False), ("/webhooks/woocommerce/key", False), ("/", True)):
        with app.test_request_context(path, method="POST", headers={"Cookie": "session=x"}) as ctx:
            assert (sessions.open_session(app, ctx.request) is not None) is opened, path


def test_the_signer_is_made_once_per_key_set(app: Flask) -> None:
    sessions = app.session_interface
    assert isinstance(sessions, Sessions)
    first = sessions.get_signing_serializer(app)
    assert first is not None and sessions.get_signing_serializer(app) is first
    # when the key changes, sessions signed with the new key are read with it
    app.secret_key = "another key for the test, long enough to be a key"
    changed = sessions.get_signing_serializer(app)
    assert changed is not None and changed is not first
    assert changed.loads(changed.dumps({"user": 1})) == {"user": 1}


def test_no_secret_key_no_session(app: Flask) -> None:
    app.secret_key = None
    assert app.session_interface.get_signing_serializer(app) is None  # type: ignore[attr-defined]
