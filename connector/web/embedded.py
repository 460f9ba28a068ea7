"""The dashboard inside Shopify admin: `/shopify/app/<page>` shows the same pages as the
dashboard, for the merchant account of the shop whose session token (verified on every
request; no cookie, since the admin frames us from another site) came with it. Links on
these pages stay under `/shopify/app`, and `static/embedded.js` gives each navigation a fresh
token from App Bridge, the one script loaded from Shopify's CDN, as Shopify requires.
Actions (retry, webhook check and repair) post forms here too: the form carries a fresh
session token (the sign-in) and a CSRF token signed for that shop; signing out is the
admin's own, so the header links to the full dashboard instead.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

from flask import Response, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadData, URLSafeTimedSerializer
from shopify import session_token
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

from connector import db, logs
from connector.context import settings_of
from connector.db.models import Account, Store
from connector.web.security import framed_by_shop, loads_app_bridge

log = logs.get(__name__)
PREFIX = "/shopify/app"
PAGES = (  # the dashboard's pages that read (no form posts)
    "dashboard.stores",
    "dashboard.contacts",
    "dashboard.contact",
    "dashboard.channels",
    "dashboard.sales",
    "dashboard.segments",
    "dashboard.product_subscriptions",
    "dashboard.failed_records",
    "overview.page",
)
ACTIONS = (  # the dashboard's form posts the app takes (each then shows the page it returns to)
    "dashboard.webhooks",
    "dashboard.retry_letter",
    "dashboard.retry_letters",
)
FORM_SALT, FORM_AGE = "embedded-form", 3600  # a page's forms stay good for an hour
EXPIRED = "The form expired: reload the page in your Shopify admin and try again."
REFUSED = "Open this app from your Shopify admin: its session token is missing, expired or not for this app."


def request_token() -> str:
    return (
        request.args.get("id_token")
        or (request.form.get("id_token") if request.method == "POST" else None)
        or request.headers.get("Authorization", "").removeprefix("Bearer ")
    )


def _forms() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=FORM_SALT)


def form_token() -> str:
    """The CSRF token of an embedded page's forms: the shop, signed (no cookie reaches us)."""
    return str(_forms().dumps(g.embedded))


def _form_is_for(shop: str) -> bool:
    try:
        return bool(_forms().loads(request.form.get("csrf_token", ""), max_age=FORM_AGE) == shop)
    except BadData:
        return False


def verified_shop(token: str) -> str | None:
    """The shop a session token is for, when its signature, audience, times and shop hold."""
    settings = settings_of(current_app)
    try:
        claims = session_token.decode_from_header(
            f"Bearer {token}", settings.shopify_api_key, settings.shopify_api_secret
        )
    except session_token.SessionTokenError as exc:
        log.warning("embedded request refused", extra={"reason": str(exc)})
        return None
    return urlparse(str(claims["dest"])).hostname or None


def refused() -> ResponseReturnValue:
    return render_template("message.html", title="Not signed in", text=REFUSED), 401


def installed_account(shop: str) -> int | None:
    with db.get_engine().connect() as conn:
        return conn.scalar(
            select(Store.account_id).where(
                Store.platform == "shopify", Store.domain == shop, Store.status == "active"
            )
        )


def show(shop: str, account_id: int, path: str, method: str = "GET") -> ResponseReturnValue:
    """The dashboard page at `path` (a dashboard address) for the shop's account, framed by
    the shop's admin only; or (`method` POST) the action there, then the page it returns to."""
    try:
        endpoint, values = current_app.url_map.bind("").match(path, method)
    except HTTPException:
        endpoint, values = "", {}
    if endpoint not in (ACTIONS if method == "POST" else PAGES):
        return render_template("message.html", title="Not found", text="No such page in the app."), 404
    with db.get_engine().connect() as conn:
        name = conn.scalar(select(Account.name).where(Account.id == account_id))
    g.user, g.account_id, g.account_name = SimpleNamespace(id=None, email=shop), account_id, name
    g.embedded, g.embedded_form_token = shop, form_token
    # the token is the sign-in, not one of the page's arguments (which a list checks)
    request.args = ImmutableMultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "id_token"])
    framed_by_shop(shop)
    loads_app_bridge()
    view: Any = current_app.view_functions[endpoint]
    done = view.__wrapped__(**values)  # the page itself, without the sign-in check: the token was it
    if method == "POST" and isinstance(done, Response) and done.location:
        request.args = ImmutableMultiDict()  # the page after an action, its outcome flashed on it
        return show(shop, account_id, urlparse(done.location).path)
    return done


def page(path: str = "") -> ResponseReturnValue:
    """GET /shopify/app/<path>: a token for an installed shop, or a 401 page showing nothing."""
    shop = verified_shop(request_token())
    account = installed_account(shop) if shop else None
    if shop is None or account is None:
        return refused()
    return show(shop, account, "/" + path)


def act(path: str) -> ResponseReturnValue:
    """POST /shopify/app/<path>: an action for an installed shop's account, when the form
    carries a session token for that shop and the CSRF token its page was given."""
    shop = verified_shop(request_token())
    account = installed_account(shop) if shop else None
    if shop is None or account is None:
        return refused()
    if not _form_is_for(shop):
        log.warning("embedded form refused", extra={"shop": shop})
        return render_template("message.html", title="Form expired", text=EXPIRED), 400
    return show(shop, account, "/" + path, "POST")


def embedded_url_for(endpoint: str, **values: Any) -> str:
    """`url_for` on embedded pages: a page or action of the app stays in the app."""
    address = url_for(endpoint, **values)
    return PREFIX + address if endpoint in PAGES + ACTIONS else address


def template_context() -> dict[str, Any]:
    if "embedded" not in g:
        return {}
    settings = settings_of(current_app)
    return {
        "url_for": embedded_url_for,
        "shopify_api_key": settings.shopify_api_key,
        "full_dashboard": settings.app_url.rstrip("/") + request.path.removeprefix(PREFIX),
    }
