"""Why a platform gave no answer, in words a merchant can act on.

A request that never got an HTTP answer failed for one of a few reasons: the name does
not resolve (DNS), nothing listens there (refused), the network has no way there (no
route), TLS failed, or nothing answered in time. Both platforms' clients and the
credential checks that run before a store is saved word it through `why_unreachable`.
"""

from __future__ import annotations

import requests

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
