"""Where a Shopify shop's URLs hang from for the current request: `<origin>/shopify/<domain>`
when the client used the path prefix, the bare origin when it reached the shop by its own
host (`<shop>.myshopify.com`), so every URL the sandbox hands back works as the client asked."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

from sandbox.addressing import origin


def shop_base(domain: str) -> str:
    """The requested path as sent (before any routing by host rewrote it) tells which."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path
    prefix = f"/shopify/{domain}"
    if urlsplit(raw).path.startswith(prefix + "/"):
        return origin() + prefix
    return origin()
