"""Why a platform gave no answer, in words a merchant can act on.

A request that never got an HTTP answer failed for one of a few reasons: the name does
not resolve (DNS), nothing listens there (refused), the network has no way there (no
route), TLS failed, or nothing answered in time. Both platforms' clients and the
credential checks that run before a store is saved word it through `why_unreachable`;
`checked_store_url` refuses, before anything is asked, a typed address that cannot be one.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import requests

from connector.errors import BadInput

_DNS = (
    "name or service not known",
    "nodename nor servname",
    "failed to resolve",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated",
)
_REFUSED = ("connection refused", "errno 111", "actively refused", "errno 61")
_NO_ROUTE = ("no route to host", "network is unreachable", "errno 113", "errno 101", "host is down")


def why_unreachable(error: requests.RequestException) -> str:
    """The reason a request got no answer: DNS, refused, no route, TLS or a timeout."""
    text = str(error).lower()
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS failed: the certificate or the protocol was not accepted"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "no answer: connecting timed out"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return "no answer: the server stopped answering"
    if any(sign in text for sign in _DNS):
        return "DNS: the host name does not resolve"
    if any(sign in text for sign in _REFUSED):
        return "refused: nothing listens at that address and port"
    if any(sign in text for sign in _NO_ROUTE):
        return "no route to the host"
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "the URL is not valid"
    return f"no connection: {type(error).__name__}"


def checked_store_url(value: str, *, place: str = "store") -> str:
    """A typed store address as `scheme://host[:port]/path` (host in lowercase, no trailing
    slash); `BadInput` for one that is not an http(s) URL or that holds a user name or
    password (never echoed back). `place` names it in the refusal ("site", "store")."""
    url = value.strip().rstrip("/")
    refused = BadInput(f"{shown_url(value)!r} is not a store URL; expected e.g. https://shop.example.com")
    try:
        parsed = urlparse(url)
        hostname, _port = parsed.hostname, parsed.port  # a bad port or IPv6 literal raises here
    except ValueError:
        raise refused from None
    if parsed.scheme not in ("http", "https") or not hostname or parsed.query or parsed.fragment:
        raise refused
    if parsed.username is not None or parsed.password is not None:
        raise BadInput(
            f"the store URL must not hold a user name or password; give the {place}'s address alone"
        )
    return f"{parsed.scheme}://{parsed.netloc.lower()}{parsed.path}"


def shown_url(value: str) -> str:
    """A typed URL as it may be shown back: without the user name and password it may hold."""
    return "".join(c for c in re.sub(r"(//)[^/@]*@", r"\1…@", value.strip())[:200] if c.isprintable())
