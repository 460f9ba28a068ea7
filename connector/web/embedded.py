"""The dashboard inside Shopify admin: `/shopify/app/<page>` shows the same pages as the
dashboard, for the merchant account of the shop whose session token (verified on every
request; no cookie, since the admin frames us from another site) came with it. Links on
these pages stay under `/shopify/app`, and `static/embedded.js` gives each navigation a fresh
token from App Bridge, the one script loaded from Shopify's CDN, as Shopify requires. The
pages are for reading: actions (retry, repair, sign-out) are on the standalone dashboard.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

from flask import current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
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
REFUSED = "Open this app from your Shopify admin: its session token is missing, expired or not for this app."


def request_token() -> str:
    return request.args.get("id_token") or request.headers.get("Authorization", "").removeprefix("Bearer ")


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


def show(shop: str, account_id: int, path: str) -> ResponseReturnValue:
    """The dashboard page at `path` (a dashboard address) for the shop's account, framed by
    the shop's admin only."""
    try:
        endpoint, values = current_app.url_map.bind("").match(path, "GET")
    except HTTPException:
        endpoint, values = "", {}
    if endpoint not in PAGES:
        return render_template("message.html", title="Not found", text="No such page in the app."), 404
    with db.get_engine().connect() as conn:
        name = conn.scalar(select(Account.name).where(Account.id == account_id))
    g.user, g.account_id, g.account_name = SimpleNamespace(id=None, email=shop), account_id, name
    g.embedded = shop
    # the token is the sign-in, not one of the page's arguments (which a list checks)
    request.args = ImmutableMultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "id_token"])
    framed_by_shop(shop)
    loads_app_bridge()
    view: Any = current_app.view_functions[endpoint]
    return view.__wrapped__(**values)  # the page itself, without the sign-in check: the token was it


def page(path: str = "") -> ResponseReturnValue:
    """GET /shopify/app/<path>: a token for an installed shop, or a 401 page showing nothing."""
    shop = verified_shop(request_token())
    account = installed_account(shop) if shop else None
    if shop is None or account is None:
        return refused()
    return show(shop, account, "/" + path)


def embedded_url_for(endpoint: str, **values: Any) -> str:
    """`url_for` on embedded pages: a page of the app stays in the app (under /shopify/app)."""
    address = url_for(endpoint, **values)
    return PREFIX + address if endpoint in PAGES else address


def template_context() -> dict[str, Any]:
    if "embedded" not in g:
        return {}
    return {"url_for": embedded_url_for, "shopify_api_key": settings_of(current_app).shopify_api_key}
