"""Where a sandbox request was addressed, and the origin every URL handed back is built from.

A WooCommerce site answers at its own host (`--woo-host`, as `https://shop.example/wp-json/…`)
as well as under `/woo/<name>/`, and a Shopify shop at `https://<shop>.myshopify.com/admin/…`
as well as under `/shopify/<shop>/`; `route_by_host` maps the first onto the second before
Flask routes. The origin is the one the client used: `X-Forwarded-Proto` and
`X-Forwarded-Host` from a front first, then the scheme and Host of the request itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import has_request_context, request

ROUTED_PREFIX = "sandbox.routed_prefix"  # WSGI environ key: the path prefix its Host stood for
PATH_PREFIXES = ("/woo/", "/shopify/", "/magento/", "/hubspot/", "/_sandbox/", "/zoho/", "/services/")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def host_name(host: str) -> str:
    """`Shop.Example:8443` → `shop.example`; `[::1]:80` → `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def forwarded(environ: dict[str, Any], header: str) -> str | None:
    value = environ.get("HTTP_X_FORWARDED_" + header)
    return value.split(",")[0].strip() if value else None


def route_by_host(app: WsgiApp, prefixes: Callable[[], dict[str, str]]) -> WsgiApp:
    """Wrap a WSGI app so a request to a host the sandbox answers as (a WooCommerce site's own
    host, a shop's `*.myshopify.com`) reaches that store's path prefix (`/woo/<name>`,
    `/shopify/<domain>`). `prefixes()` maps host name → prefix."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        known = prefixes()
        candidates = (forwarded(environ, "HOST"), environ.get("HTTP_HOST"))  # the front's name first
        prefix = next((known[host_name(h)] for h in candidates if h and host_name(h) in known), None)
        path = environ.get("PATH_INFO", "")
        if prefix is not None and not path.startswith(PATH_PREFIXES):
            environ[ROUTED_PREFIX] = prefix
            environ["PATH_INFO"] = prefix + path
        return app(environ, start_response)

    return wsgi


def origin() -> str:
    """`scheme://host[:port]` as the client addressed this request."""
    environ = request.environ
    scheme = forwarded(environ, "PROTO") or request.scheme
    host = forwarded(environ, "HOST") or request.host
    return f"{scheme}://{host}"


def over_tls() -> bool:
    """What WordPress's is_ssl() would say behind a TLS front that forwards the scheme."""
    return (forwarded(request.environ, "PROTO") or request.scheme) == "https"


def store_base(prefix: str, fallback: str) -> str:
    """The URL a store's paths hang from (`prefix` is `/woo/<name>` or `/shopify/<domain>`) as
    the current request addressed it: its own host, or the sandbox's address plus the prefix.
    Outside a request, `fallback`."""
    if not has_request_context():
        return fallback
    if request.environ.get(ROUTED_PREFIX) == prefix:
        return origin()
    return origin() + prefix


def woo_base(site: str, fallback: str) -> str:
    """The URL a site's REST paths hang from, for the current request (or `fallback` outside one)."""
    return store_base(f"/woo/{site}", fallback)


def shop_base(domain: str, fallback: str) -> str:
    """The URL a shop's paths (`/admin/…`) hang from, for the current request."""
    return store_base(f"/shopify/{domain}", fallback)


def public_url() -> str:
    """The URL the client requested, without the query (what an OAuth 1.0a signature covers)."""
    environ = request.environ
    path = request.path
    prefix = environ.get(ROUTED_PREFIX)
    if prefix is not None:
        path = path.removeprefix(prefix)
    return origin() + path
