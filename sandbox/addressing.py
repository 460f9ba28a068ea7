"""Where a sandbox request was addressed, and the origin every URL handed back is built from.

A WooCommerce site answers at its own host (`--woo-host`, as `https://shop.example/wp-json/…`)
as well as under `/woo/<name>/`; `route_by_host` maps the first onto the second before
Flask routes. The origin is the one the client used: `X-Forwarded-Proto` and
`X-Forwarded-Host` from a front first, then the scheme and Host of the request itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import has_request_context, request

ROUTED_SITE = "sandbox.woo_site"  # WSGI environ key: the site a request reached by its host
PATH_PREFIXES = ("/woo/", "/shopify/", "/magento/", "/_sandbox/")

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


def route_by_host(app: WsgiApp, hosts: Callable[[], dict[str, str]]) -> WsgiApp:
    """Wrap a WSGI app so a request to a WooCommerce site's own host reaches `/woo/<name>`."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        known = hosts()
        candidates = (forwarded(environ, "HOST"), environ.get("HTTP_HOST"))  # the front's name first
        site = next((known[host_name(h)] for h in candidates if h and host_name(h) in known), None)
        path = environ.get("PATH_INFO", "")
        if site is not None and not path.startswith(PATH_PREFIXES):
            environ[ROUTED_SITE] = site
            environ["PATH_INFO"] = f"/woo/{site}{path}"
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


def woo_base(site: str, fallback: str) -> str:
    """The URL a site's REST paths hang from, for the current request (or `fallback` outside one)."""
    if not has_request_context():
        return fallback
    if request.environ.get(ROUTED_SITE) == site:
        return origin()
    return f"{origin()}/woo/{site}"


def public_url() -> str:
    """The URL the client requested, without the query (what an OAuth 1.0a signature covers)."""
    environ = request.environ
    path = request.path
    site = environ.get(ROUTED_SITE)
    if site is not None:
        path = path.removeprefix(f"/woo/{site}")
    return origin() + path
