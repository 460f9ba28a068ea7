"""What the web routes share: JSON answers, and the rule that Shopify routes answer 503
(saying what to set) while the Shopify app credentials are not configured."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue

from connector import settings_of

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
