"""What the web routes share: JSON answers; the rule that Shopify routes answer 503
(saying what to set) while the Shopify app credentials are not configured; and the
refusal of text no database column can hold (a NUL character), before any view reads it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from connector.context import settings_of

SHOPIFY_UNCONFIGURED = "Shopify is not configured: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET"


def answer(status: int, message: str, **fields: Any) -> ResponseReturnValue:
    return jsonify(status=status, message=message, **fields), status


def requires_shopify(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if not settings_of(current_app).shopify_configured:
            return answer(503, SHOPIFY_UNCONFIGURED)
        return view(*args, **kwargs)

    return guarded


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul_characters() -> ResponseReturnValue | None:
    """A query string or form field holding NUL is answered 400 before any view runs:
    PostgreSQL text cannot hold it, so both databases answer alike and nothing is written.
    Webhook bodies are left to their receiver, which reads them raw to verify them."""
    fields = list(request.args.items(multi=True))
    if request.mimetype in FORMS and request.blueprint != "webhooks":
        fields += list(request.form.items(multi=True))
    if any("\x00" in name or "\x00" in value for name, value in fields):
        return answer(400, "text must not contain NUL characters")
    return None
