"""Connecting a Magento store by activating an integration (its OAuth 1.0a handshake).

The merchant makes an integration whose Callback URL is `/magento/callback` and whose
Identity Link URL is `/magento/identity`, and activates it. Magento POSTs the consumer key
and secret, a verifier and its URL to the callback: kept sealed in Redis for a few minutes
under the consumer key (single use). Magento then opens the identity link in the admin's
browser; signed in to the dashboard, the merchant confirms (a CSRF-checked form, so a link
alone connects nothing), the connector exchanges the verifier for the access token
(platforms.magento.activation), tries it as `stores add-magento` would, saves the store in
the merchant's account and sends the browser back to Magento's `success_call_back` when it
is on the store's own host. Platform code lives in platforms/magento; this is its route.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request
from flask.typing import ResponseReturnValue

from connector import db, logs
from connector.accounts.stores import connect_store
from connector.context import settings_of, vault_of
from connector.db.models import Account
from connector.errors import BadInput, ConnectorError
from connector.runtime.queue import get_redis
from connector.web.common import answer
from connector.web.dashboard import login_required
from connector.web.install.onboarding import after_install
from connector.web.install.outbound import check_reachable
from platforms.magento.activation import KEY, Activation, activation_of, connect_by_activation

bp = Blueprint("install_magento", __name__, url_prefix="/magento")
log = logs.get(__name__)
PENDING_TTL_S = 600  # Magento's consumer key lasts 300 s by default (Consumer Settings)


def _key(consumer_key: str) -> str:
    return f"crm:magento-activation:{consumer_key}"


@bp.post("/callback")
def callback() -> ResponseReturnValue:
    try:
        activation = activation_of(request.form)
        check_reachable(activation.store_url, allow_private=settings_of(current_app).allow_private_urls)
    except BadInput as exc:
        log.warning("magento activation refused", extra={"reason": exc.reason})
        return answer(400, f"activation refused: {exc.reason}")
    sealed = vault_of(current_app).seal(asdict(activation))
    if not get_redis().set(_key(activation.consumer_key), sealed, ex=PENDING_TTL_S, nx=True):
        return answer(409, "this integration's activation is already pending")
    log.info("magento activation received")
    return "", 200


def _pending(consumer_key: str, *, take: bool) -> Activation | None:
    if not KEY.fullmatch(consumer_key):
        return None
    redis = get_redis()
    sealed = redis.getdel(_key(consumer_key)) if take else redis.get(_key(consumer_key))
    if sealed is None:
        return None
    return Activation(**vault_of(current_app).open(sealed if isinstance(sealed, bytes) else sealed.encode()))


@bp.route("/identity", methods=["GET", "POST"])
@login_required
def identity() -> ResponseReturnValue:
    source = request.form if request.method == "POST" else request.args
    consumer_key = str(source.get("oauth_consumer_key") or "")
    back = str(source.get("success_call_back") or "")
    found = _pending(consumer_key, take=request.method == "POST")
    if found is None:
        error = "No activation from a Magento store is pending for this link (or it expired): activate again."
        return render_template("connect_magento.html", error=error), 400
    if request.method == "GET":
        shown = dict(consumer_key=consumer_key, success_call_back=back, store_url=found.store_url)
        return render_template("connect_magento.html", error=None, **shown)
    try:
        check_reachable(found.store_url, allow_private=settings_of(current_app).allow_private_urls)
        connection = connect_by_activation(found)
        store_id = _save(g.account_id, connection.domain, connection.credentials)
    except BadInput as exc:
        log.warning("magento activation failed", extra={"reason": exc.reason})
        return render_template("connect_magento.html", error=f"Not connected: {exc.reason}"), 400
    after_install(current_app._get_current_object(), store_id)  # type: ignore[attr-defined]
    log.info("magento store connected", extra={"store_id": store_id})
    if back and urlsplit(back).netloc == urlsplit(found.store_url).netloc:
        return redirect(back, 302)
    return render_template("message.html", title="Connected", text="The Magento store is connected.")


def _save(account_id: int, domain: str, credentials: dict[str, Any]) -> int:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.session(app) as s, s.begin():
        account = s.get(Account, account_id)
        if account is None:
            raise BadInput("the signed-in account no longer exists")
        try:
            store = connect_store(
                s, vault_of(app), account=account, platform="magento", domain=domain, credentials=credentials
            )
        except ConnectorError as exc:
            raise BadInput(exc.reason) from None
        s.flush()
        return int(store.id)
