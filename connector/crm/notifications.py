"""Sending the outbox: each pending message is claimed by one sender, sent by SMTP (when
SMTP_URL is set) or written as an .eml file in the instance folder's `outbox/` (the
default), and marked sent. Sending is throttled per store (CONNECTOR_NOTIFY_PER_MINUTE).

A product message carries a signed unsubscribe link (and the List-Unsubscribe headers
for one-click unsubscribe); its Message-ID comes from its dedup key, so a receiver can
recognise the rare resend after a sender crashed between sending and marking sent.
A message that keeps failing is dead-lettered with the reason after MAX_ATTEMPTS.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from connector import logs
from connector.config import Settings
from connector.context import settings_of
from connector.crm import product_mail
from connector.db import dead_letters, get_engine
from connector.db.operations import NotificationOutbox
from connector.db.types import utcnow

log = logs.get(__name__)
MAX_ATTEMPTS = 5
CLAIM_TTL = timedelta(minutes=10)


def unsubscribe_token(secret: str, subscription_id: int) -> str:
    return URLSafeSerializer(secret, salt="unsubscribe").dumps(subscription_id)


def subscription_of_token(secret: str, token: str) -> int | None:
    try:
        value = URLSafeSerializer(secret, salt="unsubscribe").loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def send_due() -> dict[str, int]:
    """RQ/cron job: send what is due."""
    return send_pending(current_app._get_current_object())  # type: ignore[attr-defined]


def send_pending(app: Flask, limit: int = 500) -> dict[str, int]:
    settings = settings_of(app)
    engine = get_engine(app)
    counts = {"sent": 0, "failed": 0, "deferred": 0}
    with engine.begin() as conn:
        _reclaim_lapsed(conn)
        due = conn.execute(
            select(NotificationOutbox)
            .where(NotificationOutbox.status == "pending")
            .order_by(NotificationOutbox.created_at, NotificationOutbox.id)
            .limit(limit)
        ).all()
        budget = _budgets(conn, settings.notify_per_minute, {m.store_id for m in due})
        cards = {
            m.id: product_mail.card_of(conn, m.store_id, m.product_platform_id)
            for m in due
            if m.kind == "product"
        }
    for message in due:
        if budget[message.store_id] <= 0:
            counts["deferred"] += 1
            continue
        if not _claim(engine, message.id):
            continue
        budget[message.store_id] -= 1
        try:
            deliver(settings, compose(settings, message, cards.get(message.id)), message.id)
        except (OSError, smtplib.SMTPException) as exc:
            counts["failed"] += 1
            log.warning(
                "notification send failed", extra={"outbox_id": message.id, "error": type(exc).__name__}
            )
            with engine.begin() as conn:
                _failed(conn, message, why_not_sent(exc))
            continue
        with engine.begin() as conn:
            conn.execute(
                update(NotificationOutbox)
                .where(NotificationOutbox.id == message.id)
                .values(status="sent", sent_at=utcnow(), last_error=None)
            )
        counts["sent"] += 1
    if counts["sent"] or counts["failed"]:
        log.info("notifications sent", extra=counts)
    return counts


def _reclaim_lapsed(conn: Connection) -> None:
    conn.execute(
        update(NotificationOutbox)
        .where(NotificationOutbox.status == "sending", NotificationOutbox.claimed_at < utcnow() - CLAIM_TTL)
        .values(status="pending")
    )


def _budgets(conn: Connection, per_minute: int, stores: set[int]) -> dict[int, int]:
    since = utcnow() - timedelta(minutes=1)
    sent = dict(
        conn.execute(
            select(NotificationOutbox.store_id, func.count())
            .where(
                NotificationOutbox.store_id.in_(stores),
                NotificationOutbox.status == "sent",
                NotificationOutbox.sent_at >= since,
            )
            .group_by(NotificationOutbox.store_id)
        ).all()
    )
    return {s: per_minute - sent.get(s, 0) for s in stores}


def _claim(engine: Any, message_id: int) -> bool:
    with engine.begin() as conn:
        taken = conn.execute(
            update(NotificationOutbox)
            .where(NotificationOutbox.id == message_id, NotificationOutbox.status == "pending")
            .values(status="sending", claimed_at=utcnow(), attempts=NotificationOutbox.attempts + 1)
        ).rowcount
    return bool(taken)


def _failed(conn: Connection, message: Any, reason: str) -> None:
    attempts = message.attempts + 1
    final = attempts >= MAX_ATTEMPTS
    conn.execute(
        update(NotificationOutbox)
        .where(NotificationOutbox.id == message.id)
        .values(status="failed" if final else "pending", last_error=reason)
    )
    log.warning("notification not sent", extra={"outbox_id": message.id, "attempts": attempts})
    if final:
        reason = f"the message could not be sent after {attempts} attempts: {reason}"
        dead_letters.write(
            conn,
            message.store_id,
            "notification",
            reason,
            entity="notification_outbox",
            platform_id=message.id,
            attempts=attempts,
        )


def why_not_sent(error: Exception) -> str:
    """Why a message was not sent, in words: never the server's own text (it may quote the
    recipient's address) nor the error's repr (the kind goes to the log)."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return "the mail server refused our sign-in: check the user and password in SMTP_URL"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "the mail server refused the recipient's address"
    if isinstance(error, smtplib.SMTPSenderRefused):
        return "the mail server refused the sender's address: check CONNECTOR_MAIL_FROM"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return "the mail server closed the connection before the message was sent"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the mail server refused the message (SMTP code {error.smtp_code})"
    if isinstance(error, smtplib.SMTPException):
        return "the mail server did not accept the message"
    if isinstance(error, ssl.SSLError):
        return "the secure connection to the mail server failed: check SMTP_URL's scheme and port"
    if isinstance(error, TimeoutError):
        return "the mail server did not answer in time"
    if isinstance(error, ConnectionError | socket.gaierror):
        return "the mail server could not be reached: check the host and port in SMTP_URL"
    return "the message could not be sent or written to the outbox folder (a system error)"


def compose(settings: Settings, message: Any, card: product_mail.ProductCard | None = None) -> EmailMessage:
    """The message as sent: plain text, and for a product held by the connector (`card`) an
    HTML alternative with its picture, price and link; a product message's unsubscribe
    is a link in both and the RFC 8058 one-click headers."""
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Message-ID"] = f"<{hashlib.sha256(message.dedup_key.encode()).hexdigest()[:32]}@crm-connector>"
    link = None
    if message.kind == "product" and message.subscription_id is not None:
        token = unsubscribe_token(settings.secret_key, message.subscription_id)
        link = f"{settings.app_url}/unsubscribe/{token}"
        mail["List-Unsubscribe"] = f"<{link}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if card is None:
        mail.set_content(message.body + (f"\n\nStop these e-mails: {link}" if link else ""))
        return mail
    mail.set_content(product_mail.plain_text(card, message.body, link))
    mail.add_alternative(product_mail.html(card, message.body, link), subtype="html")
    return mail


def deliver(settings: Settings, mail: EmailMessage, message_id: int) -> None:
    if settings.smtp_url is None:
        folder = outbox_folder(settings)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{message_id}.eml"
        path.write_bytes(bytes(mail))
        path.chmod(0o600)
        return
    url = urlparse(settings.smtp_url)
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_class(
        url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25), timeout=30
    ) as smtp:
        if url.username:
            if url.scheme == "smtp":
                smtp.starttls()
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(mail)


def outbox_folder(settings: Settings) -> Path:
    return settings.instance_path / "outbox"
