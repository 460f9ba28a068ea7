"""WooCommerce install: what a valid site URL and a pair of REST API keys look like.

Keys are `ck_`/`cs_` followed by 40 hex digits, as WooCommerce issues them. The site
URL is kept without a trailing slash, as the base the REST paths hang from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from connector.errors import BadInput
from platforms.protocol import Connection
from platforms.reach import checked_store_url

KEY = re.compile(r"ck_[0-9a-f]{40}")
SECRET = re.compile(r"cs_[0-9a-f]{40}")


def normalize_store_url(value: str) -> str:
    return checked_store_url(value, place="site")


def check_keys(consumer_key: str, consumer_secret: str) -> tuple[str, str]:
    if not KEY.fullmatch(consumer_key or ""):
        raise BadInput("the consumer key should look like ck_ followed by 40 hex digits")
    if not SECRET.fullmatch(consumer_secret or ""):
        raise BadInput("the consumer secret should look like cs_ followed by 40 hex digits")
    return consumer_key, consumer_secret


def verify_keys(url: str, consumer_key: str, consumer_secret: str, timeout: float = 10.0) -> None:
    """Ask the site once, with the keys, for one customer: BadInput says which check failed
    (reachable, WooCommerce's REST API there, the keys accepted, allowed to read) and what to do."""
    import requests

    from platforms.reach import why_unreachable
    from platforms.woocommerce.client import WooClient

    client = WooClient(url, consumer_key, consumer_secret, timeout=timeout)
    try:
        answer = client.api.get("customers", params={"per_page": 1, "_fields": "id"})
    except requests.RequestException as exc:
        raise BadInput(f"{url} cannot be reached ({why_unreachable(exc)}): check --url") from None
    code = _error_code(answer)
    if answer.status_code == 401 or code == "woocommerce_rest_authentication_error":
        raise BadInput(
            f"{url} refused these keys ({_message(answer)}): create a key pair under WooCommerce → "
            "Settings → Advanced → REST API and pass both --key and --secret"
        )
    if answer.status_code == 403:
        raise BadInput(
            f"{url} accepted the keys but they may not read customers ({_message(answer)}): give the "
            "key Read/Write permission, for a user who can manage WooCommerce"
        )
    if answer.status_code != 200 or not isinstance(_json(answer), list):
        found = "WordPress, without WooCommerce's REST API" if code == "rest_no_route" else "no WooCommerce"
        raise BadInput(
            f"{url} is not a WooCommerce site (HTTP {answer.status_code} for /wp-json/wc/v3/customers: "
            f"{found} there): check --url, including the site's path"
        )


def _json(answer: object) -> object:
    try:
        return answer.json()  # type: ignore[attr-defined]
    except ValueError:
        return None


def _error_code(answer: object) -> str:
    body = _json(answer)
    return str(body.get("code") or "") if isinstance(body, dict) else ""


def _message(answer: object) -> str:
    body = _json(answer)
    text = str(body.get("message") or "") if isinstance(body, dict) else ""
    shown = "".join(c for c in text[:120] if c.isprintable())  # the site's words: untrusted
    return shown or f"HTTP {answer.status_code}"  # type: ignore[attr-defined]


def connect_by_hand(options: Mapping[str, str]) -> Connection:
    """A site and REST API keys pasted by hand, once the site has accepted them."""
    url, (key, secret) = normalize_store_url(options["url"]), check_keys(options["key"], options["secret"])
    verify_keys(url, key, secret)
    return Connection(url, {"consumer_key": key, "consumer_secret": secret}, None)
