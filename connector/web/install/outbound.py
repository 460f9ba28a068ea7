"""Where the server may be sent by a URL someone typed (a WooCommerce site to connect):
http(s) only, and a host whose every address is public, not loopback, private, link-local,
reserved or multicast, unless the instance allows private networks (the embedded default,
which runs the sandbox on 127.0.0.1). Checked before each request is made.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from connector.errors import BadInput

UNREACHABLE = "the site could not be reached as a WooCommerce store"


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is no part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_reachable(url: str, *, allow_private: bool) -> None:
    """Raise BadInput(UNREACHABLE) unless the server may send a request to `url`; the same
    words whatever the reason, so the answer tells nothing about a network's hosts or ports."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(UNREACHABLE)
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError):
        raise BadInput(UNREACHABLE) from None
    if not found or not all(_public(str(info[4][0])) for info in found):
        raise BadInput(UNREACHABLE)
