"""Connecting a CRM from the dashboard by the connector's own OAuth app there (configured by the
operator; where it is not, the page points at the CLI). A POST issues a single-use state (Redis,
ten minutes) bound to the signed-in session, the account, the kind, the destination a reconnect
renews and the PKCE verifier, then sends the merchant to the CRM's consent page; the callback
spends the state before anything else, redeems the code, and puts the grant through the same
check and save as `crm-connector destinations add-*` (refused: the CRM's reason, nothing saved).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

import destinations as kinds
from connector import db, logs
from connector.accounts import destinations
from connector.config import Settings
from connector.context import settings_of, vault_of
from connector.errors import BadInput, ConnectorError
from connector.runtime.queue import get_redis
from connector.web.dashboard import login_required
from connector.web.install import oauth_state
from destinations.oauth import App, Grant, pkce_pair
from sync import push

bp = Blueprint("destinations_connect", __name__)
log = logs.get(__name__)
STATE_TTL_S = 600
SESSION_KEY = "crm_oauth_nonce"
NAMES = {"hubspot": "HubSpot", "salesforce": "Salesforce", "zoho": "Zoho CRM"}
UNUSABLE = (
    "This connection was not started from this dashboard, was finished already, or expired "
    "(it lasts ten minutes): start again from Destinations. Nothing was saved."
)
ELSEWHERE = (
    "This connection was started in another session: start again from Destinations. Nothing was saved."
)


def crm_app(settings: Settings, kind: str) -> App | None:
    """The connector's app registered with `kind`, or None where the operator configured none."""
    client_id, secret, authorize = {
        "hubspot": (
            settings.hubspot_client_id,
            settings.hubspot_client_secret,
            settings.hubspot_authorize_url,
        ),
        "salesforce": (
            settings.salesforce_client_id,
            settings.salesforce_client_secret,
            settings.salesforce_login_url + "/services/oauth2/authorize",
        ),
        "zoho": (
            settings.zoho_client_id,
            settings.zoho_client_secret,
            settings.zoho_accounts_url + "/oauth/v2/auth",
        ),
    }[kind]
    return App(client_id, secret, authorize) if client_id and secret else None


def api_url(settings: Settings, kind: str) -> str:
    """Where the code is redeemed (Zoho: unless the callback names the user's data centre)."""
    return {
        "hubspot": settings.hubspot_api_url,
        "salesforce": settings.salesforce_login_url,
        "zoho": settings.zoho_accounts_url,
    }[kind]


def offered(settings: Settings) -> list[dict[str, Any]]:
    """Each CRM as the page offers it: its name and whether the dashboard can connect it."""
    return [
        {"kind": k, "name": NAMES[k], "configured": crm_app(settings, k) is not None} for k in kinds.KINDS
    ]


def _redirect_uri(settings: Settings, kind: str) -> str:
    return f"{settings.app_url}/destinations/oauth/{kind}/callback"


def _back(message: str) -> Response:
    flash(message)
    return redirect(url_for("destinations_page.page"), 303)


@bp.post("/destinations/connect/<kind>")
@login_required
def connect(kind: str) -> ResponseReturnValue:
    if kind not in kinds.KINDS:
        abort(404)
    return _start(kind, None)


@bp.post("/destinations/<int:destination_id>/reconnect")
@login_required
def reconnect(destination_id: int) -> ResponseReturnValue:
    with db.session() as s:
        try:
            kind = destinations.find(s, str(destination_id), g.account_id).kind
        except BadInput as exc:
            return _back(exc.reason)
    return _start(kind, destination_id)


def _start(kind: str, destination_id: int | None) -> ResponseReturnValue:
    settings = settings_of(current_app)
    app = crm_app(settings, kind)
    if app is None:
        command = f"reconnect-{kind} {destination_id}" if destination_id else f"add-{kind}"
        return _back(
            f"{NAMES[kind]} cannot be connected from the dashboard: {kind.upper()}_CLIENT_ID and "
            f"{kind.upper()}_CLIENT_SECRET are not configured. Use `crm-connector destinations "
            f"{command}` (--help) on the server."
        )
    destination = kinds.get(kind)
    verifier, challenge = pkce_pair() if destination.PKCE else ("", "")
    nonce = session.get(SESSION_KEY) or secrets.token_urlsafe(24)
    session[SESSION_KEY] = nonce
    pending = {
        "nonce": nonce,
        "account_id": g.account_id,
        "kind": kind,
        "destination_id": destination_id,
        "verifier": verifier,
    }
    state = oauth_state.issue(get_redis(), "crm", pending, STATE_TTL_S)
    log.info("destination connect started", extra={"kind": kind, "destination_id": destination_id})
    return redirect(destination.authorization(app, _redirect_uri(settings, kind), state, challenge), 303)


@bp.get("/destinations/oauth/<kind>/callback")
@login_required
def callback(kind: str) -> ResponseReturnValue:
    if kind not in kinds.KINDS:
        abort(404)
    pending = oauth_state.take(get_redis(), "crm", request.args.get("state"))  # spent, whatever follows
    if pending is None or pending.get("kind") != kind:
        return _refused(UNUSABLE)
    mine = str(session.get(SESSION_KEY) or "")
    if not mine or not secrets.compare_digest(str(pending.get("nonce")), mine):
        return _refused(ELSEWHERE)
    if pending.get("account_id") != g.account_id:
        return _refused(ELSEWHERE)
    error = request.args.get("error")
    if error:
        return _back(_declined(kind, error, request.args.get("error_description")))
    if not request.args.get("code"):
        return _refused(f"{NAMES[kind]}'s answer carries no authorization code. Nothing was saved.")
    return _finish(kind, pending)


def _refused(text: str) -> ResponseReturnValue:
    log.warning("destination connect refused", extra={"reason": text})
    return render_template("message.html", title="Not connected", text=text), 400


def _declined(kind: str, error: str, described: str | None) -> str:
    if error == "access_denied":
        return f"{NAMES[kind]} was not connected: the access was declined there. Nothing was saved."
    why = f"{error}: {described}" if described else error
    return f"{NAMES[kind]} did not grant the access ({why[:300]}). Nothing was saved."


def _finish(kind: str, pending: dict[str, Any]) -> ResponseReturnValue:
    settings = settings_of(current_app)
    app = crm_app(settings, kind)
    if app is None:
        return _refused(f"{NAMES[kind]} is no longer configured for the dashboard. Nothing was saved.")
    destination = kinds.get(kind)
    grant = Grant(
        code=str(request.args["code"]),
        redirect_uri=_redirect_uri(settings, kind),
        verifier=str(pending.get("verifier") or ""),
        returned=request.args.to_dict(),
        api_url=api_url(settings, kind),
    )
    try:
        credentials = destination.check(destination.redeem(app, grant), None)
    except ConnectorError as exc:
        log.warning("destination connect failed", extra={"kind": kind, "reason": exc.reason})
        why = exc.reason.removesuffix("; nothing was saved")
        return _back(f"{NAMES[kind]} was not connected: {why}. Nothing was saved.")
    dest_id = _save(kind, pending.get("destination_id"), credentials)
    if dest_id is None:
        return _back("That destination is gone or is another CRM: nothing was saved.")
    push.request_push(get_redis(), dest_id)
    log.info("destination connected", extra={"destination_id": dest_id, "kind": kind})
    where = (
        credentials.get("hub_domain") or credentials.get("instance_url") or credentials.get("accounts_url")
    )
    return _back(f"{NAMES[kind]} connected as destination {dest_id} ({where}); a push is queued.")


def _save(kind: str, destination_id: int | None, credentials: dict[str, Any]) -> int | None:
    """The destination added to the signed-in account, or the one being reconnected renewed."""
    vault = vault_of(current_app)
    with db.session() as s, s.begin():
        if destination_id is None:
            return destinations.add(s, vault, account=g.account_name, kind=kind, credentials=credentials).id
        try:
            dest = destinations.find(s, str(destination_id), g.account_id)
        except BadInput:
            return None
        if dest.kind != kind:
            return None
        destinations.reconnect(s, vault, dest, credentials)
        return dest.id
