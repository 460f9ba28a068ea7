"""WooCommerce install: what a valid site URL and a pair of REST API keys look like.

Keys are `ck_`/`cs_` followed by 40 hex digits, as WooCommerce issues them. The site
URL is kept without a trailing slash, as the base the REST paths hang from.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from connector.errors import BadInput

KEY = re.compile(r"ck_[0-9a-f]{40}")
SECRET = re.compile(r"cs_[0-9a-f]{40}")


def normalize_store_url(value: str) -> str:
    url = value.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query or parsed.fragment:
        raise BadInput(f"{value!r} is not a store URL; expected e.g. https://shop.example.com")
    return f"{parsed.scheme}://{parsed.netloc.lower()}{parsed.path}"


def check_keys(consumer_key: str, consumer_secret: str) -> tuple[str, str]:
    if not KEY.fullmatch(consumer_key or ""):
        raise BadInput("the consumer key should look like ck_ followed by 40 hex digits")
    if not SECRET.fullmatch(consumer_secret or ""):
        raise BadInput("the consumer secret should look like cs_ followed by 40 hex digits")
    return consumer_key, consumer_secret
