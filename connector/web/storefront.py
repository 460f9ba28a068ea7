"""The storefront's "notify me about new products" endpoints: the form's POST (a pending
subscription and a confirmation e-mail; storefronts may post from their own origin),
the confirmation link, and the signed unsubscribe link (GET shows a page, POST is the
one-click unsubscribe of RFC 8058). Bad input gets a 400 naming the field, and writes
nothing; an unknown store or token gets a 404.
"""

from __future__ import annotations

from html import escape
from typing import Any

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from connector import db, logs
from connector.context import settings_of
from connector.crm import subscriptions
from connector.crm.notifications import subscription_of_token
from connector.db.models import Store
from connector.errors import BadInput
from connector.web.common import answer

bp = Blueprint("subscribe", __name__)
log = logs.get(__name__)


def page(status: int, title: str, text: str) -> ResponseReturnValue:
    body = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(text)}</p>"
    return body, status, {"Content-Type": "text/html; charset=utf-8"}


@bp.post("/subscribe/<store_key>")
def subscribe(store_key: str) -> ResponseReturnValue:
    form: Any = request.get_json(silent=True) if request.is_json else request.form
    if form is None or not hasattr(form, "get"):
        return answer(400, "send the form fields email, scope and value as a form or a JSON object")
    with db.session(current_app) as s, s.begin():
        conn = s.connection()
        store = conn.execute(
            select(Store).where(Store.store_key == store_key, Store.status == "active")
        ).first()
        if store is None:
            return answer(404, "no such store")
        try:
            sub, to_confirm = subscriptions.subscribe(
                conn,
                store,
                str(form.get("email") or ""),
                str(form.get("scope") or "store"),
                form.get("value"),
            )
        except BadInput as exc:
            return answer(400, exc.reason)
        if to_confirm:
            url = f"{settings_of(current_app).app_url}/subscribe/confirm/{sub.token}"
            subscriptions.queue_confirmation(conn, sub, store, url)
    log.info("subscription requested", extra={"store_id": store.id, "subscription_id": sub.id})
    if to_confirm:
        return answer(202, "check your inbox to confirm", subscription="pending")
    return answer(200, "already subscribed", subscription="confirmed")


@bp.after_app_request
def storefront_may_post(response: Response) -> Response:
    if request.endpoint == "subscribe.subscribe":
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/subscribe/confirm/<token>")
def confirm(token: str) -> ResponseReturnValue:
    with db.session(current_app) as s, s.begin():
        sub = subscriptions.confirm(s.connection(), token)
    if sub is None:
        return page(404, "Link not valid", "This confirmation link is unknown or was withdrawn.")
    return page(200, "You're subscribed", "We will e-mail you when new products you follow are published.")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> ResponseReturnValue:
    subscription_id = subscription_of_token(settings_of(current_app).secret_key, token)
    if subscription_id is None:
        return page(400, "Link not valid", "This unsubscribe link is damaged: use the one in the e-mail.")
    with db.session(current_app) as s, s.begin():
        sub = subscriptions.unsubscribe(s.connection(), subscription_id)
    if sub is None:
        return page(404, "Already gone", "This subscription no longer exists.")
    log.info("unsubscribed", extra={"subscription_id": subscription_id})
    return page(200, "Unsubscribed", "You will not get these e-mails any more.")
