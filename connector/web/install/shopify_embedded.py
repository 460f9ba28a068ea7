"""The connector as an embedded Shopify app: the way merchants meet apps in their admin.

Every embedded request carries an App Bridge session token (an HS256 JWT signed with the
app secret); ShopifyAPI's verifier checks signature, audience, expiry, not-before and
that issuer and destination are the same shop. A shop with no offline token yet gets
one by token exchange (managed installation). Pages may be framed only by that shop's
admin (Content-Security-Policy frame-ancestors, `web_security.framed_by_shop`); they are the
dashboard's own pages for the shop's account (`connector.web.embedded`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from connector import db, logs
from connector.context import settings_of
from connector.db.models import Store
from connector.errors import ConnectorError
from connector.web import embedded
from connector.web.common import requires_shopify
from connector.web.install.onboarding import after_install
from connector.web.install.shopify import _save
from platforms.shopify.tokens import request_grant

bp = Blueprint("embedded", __name__, url_prefix="/shopify")
log = logs.get(__name__)
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


bp.app_context_processor(embedded.template_context)
_page = requires_shopify(embedded.page)
bp.add_url_rule("/app/", "page", _page, defaults={"path": ""})
bp.add_url_rule("/app/<path:path>", "page", _page)
bp.add_url_rule("/app/<path:path>", "act", requires_shopify(embedded.act), methods=["POST"])


@bp.get("/app")
@requires_shopify
def app_home() -> ResponseReturnValue:
    token = embedded.request_token()
    shop = embedded.verified_shop(token)
    if shop is None:
        return embedded.refused()
    store_id = _installed_store(shop)
    if store_id is None:
        try:
            store = _save(shop, _exchange(shop, token))
        except ConnectorError as exc:
            return jsonify(status=502, message=f"the shop did not complete the install: {exc.reason}"), 502
        after_install(current_app._get_current_object(), store.id)  # type: ignore[attr-defined]
        store_id = store.id
    account = embedded.installed_account(shop)
    return embedded.refused() if account is None else embedded.show(shop, account, "/")


def _installed_store(shop: str) -> int | None:
    with db.session(current_app._get_current_object()) as s:  # type: ignore[attr-defined]
        store = s.scalar(select(Store).where(Store.platform == "shopify", Store.domain == shop))
        return store.id if store is not None and store.credentials and store.status == "active" else None


def _exchange(shop: str, token: str) -> dict[str, Any]:
    """Managed installation: the session token itself is exchanged for an offline token."""
    return request_grant(
        settings_of(current_app),
        shop,
        {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "expiring": "1",
        },
    )
