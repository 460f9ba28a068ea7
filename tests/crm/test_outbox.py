"""The outbox sender without a mail server: .eml files in the instance folder by default;
an unreachable SMTP server leaves messages pending with the reason, then dead-letters
them after the last attempt; a per-store throttle defers the rest; the signed unsubscribe
link cannot be forged."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from connector import create_app
from connector.context import settings_of
from connector.crm import subscriptions
from connector.crm.notifications import MAX_ATTEMPTS, send_pending, subscription_of_token, unsubscribe_token
from connector.db import get_engine
from connector.db.models import Store
from connector.db.operations import DeadLetter, NotificationOutbox
from connector.write.apply import apply_batch
from platforms.base import MapContext
from platforms.shopify.mapper import product_rows
from tests.builders import make_store, product_payload


def subscribed_people(conn: Connection, store_id: int, count: int) -> None:
    store = conn.execute(select(Store).where(Store.id == store_id)).one()
    for n in range(count):
        sub, _ = subscriptions.subscribe(conn, store, f"p{n}@example.com", "store", None)
        subscriptions.confirm(conn, sub.token)


def publish(conn: Connection, store_id: int, number: int) -> None:
    stamp = datetime(2031, 1, 1, tzinfo=UTC).isoformat()
    payload = product_payload(number, published_at=stamp, updated_at=stamp, status="active")
    apply_batch(conn, store_id, product_rows(payload, MapContext()))


def test_without_smtp_messages_become_eml_files(app: Flask) -> None:
    with get_engine(app).begin() as conn:
        shop = make_store(conn)
        subscribed_people(conn, shop, 2)
        publish(conn, shop, 501)
        publish(conn, shop, 501)  # the same product again: no second message
    assert send_pending(app)["sent"] == 2
    files = sorted((settings_of(app).instance_path / "outbox").glob("*.eml"))
    mails = [message_from_bytes(f.read_bytes()) for f in files]
    assert sorted(m["To"] for m in mails) == ["p0@example.com", "p1@example.com"]
    link = mails[0]["List-Unsubscribe"].strip("<>")
    assert subscription_of_token(settings_of(app).secret_key, link.rsplit("/", 1)[1]) is not None
    assert subscription_of_token(settings_of(app).secret_key, unsubscribe_token("another-key", 1)) is None


def test_an_unreachable_mail_server_keeps_messages_then_dead_letters_them(
    app_env: dict[str, str], tmp_path: Path
) -> None:
    app = create_app({**app_env, "SMTP_URL": "smtp://127.0.0.1:9", "CONNECTOR_NOTIFY_PER_MINUTE": "1"})
    with get_engine(app).begin() as conn:
        shop = make_store(conn)
        subscribed_people(conn, shop, 2)
        publish(conn, shop, 502)
    first = send_pending(app)
    assert (first["failed"], first["deferred"]) == (1, 1)  # one per minute for this store
    for _ in range(MAX_ATTEMPTS * 2):
        send_pending(app)
    with get_engine(app).connect() as conn:
        rows = conn.execute(
            select(NotificationOutbox.status, NotificationOutbox.attempts, NotificationOutbox.last_error)
        ).all()
        dead = conn.execute(select(DeadLetter.kind, DeadLetter.reason)).all()
    assert [(s, a) for s, a, _e in rows] == [("failed", MAX_ATTEMPTS)] * 2
    assert all(
        e == "the mail server could not be reached: check the host and port in SMTP_URL" for *_, e in rows
    )
    assert [k for k, _r in dead] == ["notification"] * 2
    assert dead[0][1] == (
        f"the message could not be sent after {MAX_ATTEMPTS} attempts: "
        "the mail server could not be reached: check the host and port in SMTP_URL"
    )
    app.extensions["crm.engine"].dispose()


class RefusingServer:
    """A real SMTP server (aiosmtpd on loopback) that refuses every recipient, naming it."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return f"550 5.1.1 <{address}> no such mailbox"


def test_a_refused_recipient_is_dead_lettered_with_a_sentence_that_does_not_quote_the_address(
    app_env: dict[str, str],
) -> None:
    # given a mail server that refuses the recipient, quoting the address in its answer
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(RefusingServer(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = create_app({**app_env, "SMTP_URL": f"smtp://127.0.0.1:{port}"})
        with get_engine(app).begin() as conn:
            shop = make_store(conn)
            subscribed_people(conn, shop, 1)
            publish(conn, shop, 503)
        # when the outbox is sent until the message is given up
        for _ in range(MAX_ATTEMPTS):
            send_pending(app)
    finally:
        controller.stop()
    # then the reason is a sentence, and neither it nor the letter names the person
    with get_engine(app).connect() as conn:
        (message,) = conn.execute(select(NotificationOutbox.status, NotificationOutbox.last_error)).all()
        (letter,) = conn.execute(select(DeadLetter.reason, DeadLetter.detail)).all()
    assert message == ("failed", "the mail server refused the recipient's address")
    assert letter.reason == (
        f"the message could not be sent after {MAX_ATTEMPTS} attempts: "
        "the mail server refused the recipient's address"
    )
    assert "p0@example.com" not in f"{letter.reason} {letter.detail}"
    app.extensions["crm.engine"].dispose()
