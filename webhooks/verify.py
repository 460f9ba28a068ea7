"""Verifying a delivery before it deletes, uninstalls, erases or crosses records.

A webhook's signature covers its body only: the topic, shop and time headers of a replayed
body are the sender's word. So a body must fit the topic it came under and the shop it
names (the platform's `refusal`, pure), and deletions and uninstalls are confirmed with
the platform before they act (`confirmation`: the record is gone, the token answers 401).
A refusal is recorded on the delivery and nothing is applied; an unreachable platform
means retry later. What to check is each platform's (platforms/<name>/verify.py).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlparse

import platforms
from connector.config import Settings
from connector.crypto import Vault
from connector.errors import ConnectorError, FailPermanently, Reauthorize, SkipRecord
from platforms.protocol import Question

CONFIRM_TIMEOUT_S = 10.0
MAX_URL = 255  # stores.domain and stores.pending_url


def refusal(platform: str, topic: str, payload: Any, domain: str) -> str | None:
    """Why this body cannot be what its headers say (another topic's or another shop's
    body), or None when it fits."""
    return platforms.get(platform).refusal(topic, payload, domain)


def subject(platform: str, topic: str, payload: Any) -> tuple[str, int] | None:
    """The record a delivery writes (entity, id) when the platform's secret signs every
    store's deliveries, so a body captured from one store could be replayed as another's."""
    return platforms.get(platform).cross_store_subject(topic, payload)


def needs_confirmation(platform: str, topic: str) -> bool:
    """Deletions and uninstalls act only once the platform confirms them."""
    return platforms.get(platform).needs_confirmation(topic)


def confirmation(
    settings: Settings, vault: Vault, store: Any, topic: str, payload: dict[str, Any]
) -> str | None:
    """Ask the platform: None when it confirms the event, else why it is refused. Raises
    RetryLater while the platform cannot be reached (the delivery waits, pending)."""
    credentials = vault.open(store.credentials) if store.credentials else {}
    platform = platforms.get(store.platform)
    question = platform.confirmation(settings, credentials, store.domain, topic, payload, CONFIRM_TIMEOUT_S)
    return None if question is None else _asked(question)


def _asked(question: Question) -> str | None:
    try:
        if question.confirmed():
            return None
    except (Reauthorize, FailPermanently, SkipRecord) as exc:  # asking again would not help
        return f"could not be confirmed: {exc.reason}; a re-sync reconciles it"
    return f"not confirmed: the platform {question.otherwise}"


def site_confirmation(store: Any, vault: Vault, source: str, known: tuple[int, str] | None) -> str | None:
    """A site's new URL: None when the platform confirms the site there is the store (given
    `known`, an order id and its order_key from the store's records), else why it is
    refused. An unreachable URL is refused too (anyone can forge the header, so waiting on
    it would stall the inbox)."""
    if not source.lower().startswith(("https://", "http://")) or not urlparse(source).hostname:
        return f"{source[:100]!r} is not a web address"
    if len(source) > MAX_URL:
        return f"{source[:100]}… is longer than a site URL may be"
    if _private(source) and urlparse(source).hostname != urlparse(store.domain).hostname:
        return f"{source[:100]} is not a public address (only the store's own host may be private)"
    credentials = vault.open(store.credentials) if store.credentials else {}
    try:
        return platforms.get(store.platform).site_refusal(source, credentials, known, CONFIRM_TIMEOUT_S)
    except ConnectorError as exc:  # unreachable, or answering errors: the move is not confirmed
        return f"the site at {source[:100]} could not be asked ({exc.reason})"


def _private(url: str) -> bool:
    """Whether the URL's host is (or resolves to) a loopback, private, link-local or reserved
    address: a forged source must not make the connector call inside its own network."""
    host = urlparse(url).hostname or ""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False  # it will not be reachable either
    for address in found:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            return True
    return False
