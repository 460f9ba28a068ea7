"""The browser-facing defences every answer shares: security headers (a Content-Security-
Policy with no inline script or style, no framing except the embedded app's pages by the
shop's own admin, nosniff, no referrer leaving the site) and the rule that a link taken
from platform data is a link only when it is http(s); anything else is shown as text.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, g
from markupsafe import Markup, escape

from connector.context import settings_of

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def framed_by_shop(shop: str) -> None:
    """This answer is an embedded app page: only that shop's admin may frame it."""
    g.csp_frame_ancestors = f"https://{shop} https://admin.shopify.com"


def loads_app_bridge() -> None:
    """This page runs in Shopify admin: Shopify's App Bridge script, from its CDN, may load."""
    g.csp_script_src = "'self' https://cdn.shopify.com"


def form_leaves_site() -> None:
    """This page's form is answered by a redirect to another site (an approval page)."""
    g.csp_form_action = "'self' https: http:"


def policy() -> str:
    """The policy for this request's answer."""
    frames = g.pop("csp_frame_ancestors", "'none'")
    forms = g.pop("csp_form_action", "'self'")
    scripts = g.pop("csp_script_src", "'self'")
    return (
        POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {frames}")
        .replace("form-action 'self'", f"form-action {forms}")
        .replace("script-src 'self'", f"script-src {scripts}")
    )


def web_link(url: object) -> str | None:
    """The URL when it is an absolute http(s) link with a host, else None (javascript:, data:,
    relative, or anything with control characters)."""
    if not isinstance(url, str) or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def link_or_text(url: object, label: object = None) -> Markup:
    """Jinja filter `link`: an <a> to an http(s) URL from platform data, or the text itself."""
    shown = escape(label if label not in (None, "") else url or "")
    target = web_link(url)
    if target is None:
        return Markup(shown)
    return Markup('<a href="{}" rel="noopener noreferrer nofollow">{}</a>').format(target, shown)


def _headers(secure: bool) -> Callable[[Response], Response]:
    def add(response: Response) -> Response:
        framed = "csp_frame_ancestors" in g
        response.headers["Content-Security-Policy"] = policy()  # and forgets this answer's exceptions
        if not framed:
            response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        if secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    return add


def init_app(app: Flask) -> None:
    secure = settings_of(app).app_url.startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # sent on the top-level redirect back from the platform
        SESSION_COOKIE_SECURE=secure,  # the embedded demo serves plain http on loopback
    )
    app.add_template_filter(link_or_text, "link")
    app.after_request(_headers(secure))
