"""A new-product e-mail, as a real SMTP server (aiosmtpd on loopback) receives it: a plain-text
part and an HTML part with the product's picture, name, price in its currency, a link to its
page and the store's name; the one-click unsubscribe (RFC 8058 headers and a link in both
parts). A product named like a script is shown as text, and a picture or link that is not
http(s) is left out."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from connector import create_app
from connector.crm.notifications import send_pending
from connector.db import get_engine
from connector.db.models import Store
from connector.write.apply import apply_batch
from platforms.base import MapContext
from platforms.shopify.mapper import product_rows
from tests.builders import make_store, product_payload
from tests.crm.test_outbox import subscribed_people

EVIL = '<img src=x onerror="alert(1)">'


class Keeping:
    """An SMTP server that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Keeping, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keeping = Keeping()
    controller = Controller(keeping, hostname="127.0.0.1", port=port)
    controller.start()
    yield keeping, port
    controller.stop()


def sent_for(app_env: dict[str, str], port: int, store: dict[str, Any] | None = None, **product: Any) -> None:
    app = create_app({**app_env, "SMTP_URL": f"smtp://127.0.0.1:{port}"})
    stamp = datetime(2031, 1, 1, tzinfo=UTC).isoformat()
    with get_engine(app).begin() as conn:
        shop = make_store(conn)
        conn.execute(update(Store).where(Store.id == shop).values(currency="EUR", **(store or {})))
        subscribed_people(conn, shop, 1)
        payload = product_payload(601, published_at=stamp, updated_at=stamp, status="active", **product)
        apply_batch(conn, shop, product_rows(payload, MapContext()))
    assert send_pending(app)["sent"] == 1
    app.extensions["crm.engine"].dispose()


def parts(mail: EmailMessage) -> tuple[str, str]:
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_a_product_mail_has_its_picture_name_price_link_store_and_one_click_unsubscribe(
    app_env: dict[str, str], smtp: tuple[Keeping, int]
) -> None:
    keeping, port = smtp
    sent_for(app_env, port, title="Linen shirt", image={"src": "https://cdn.example/shirt.jpg"})
    [mail] = keeping.messages
    text, html = parts(mail)
    link = "https://bob-shop.myshopify.com/products/example-t-shirt"
    unsubscribe = str(mail["List-Unsubscribe"]).strip().strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and "/unsubscribe/" in unsubscribe
    assert "Linen shirt" in text and "€19.99" in text and link in text and unsubscribe in text
    assert '<img src="https://cdn.example/shirt.jpg" alt="Linen shirt"' in html
    assert f'href="{link}"' in html and "€19.99" in html and "bob-shop.myshopify.com" in html
    assert f'href="{unsubscribe}"' in html


def test_a_product_named_like_a_script_is_text_and_a_javascript_picture_is_left_out(
    app_env: dict[str, str], smtp: tuple[Keeping, int]
) -> None:
    keeping, port = smtp
    sent_for(app_env, port, title=EVIL, image={"src": "javascript:alert(1)"}, handle='x"><script>')
    [mail] = keeping.messages
    _text, html = parts(mail)
    assert "<img" not in html and 'onerror="alert' not in html and "<script>" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "javascript:" not in html
    assert 'href="https://bob-shop.myshopify.com/products/x%22%3E%3Cscript%3E"' in html


def test_a_product_mail_names_the_store_by_its_own_name_and_prices_in_its_locale(
    app_env: dict[str, str], smtp: tuple[Keeping, int]
) -> None:
    # given a shop that said (when added) it is "Bob's <Shirts>" and writes German
    keeping, port = smtp
    sent_for(app_env, port, store={"name": "Bob's <Shirts>", "locale": "de_DE"}, title="Linen shirt")
    # when its product e-mail arrives
    [mail] = keeping.messages
    text, html = parts(mail)
    # then the store is named by its name (escaped in the HTML) and the price is written as in Germany
    assert "Bob's <Shirts>" in str(mail["Subject"]) and "Bob's <Shirts>" in text
    assert "Bob&#39;s &lt;Shirts&gt;" in html and "<Shirts>" not in html
    assert "19,99\xa0€" in text and "19,99\xa0€" in html and "€19.99" not in html
