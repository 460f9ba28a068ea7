"""Magento install: a store URL and an integration's access token pasted by hand, checked
against the store before anything is saved.

The merchant makes an integration (System → Extensions → Integrations), activates it and
copies its Access Token; the connector sends it as `Authorization: Bearer`. The store URL
is kept without a trailing slash, as the base `/rest/V1/…` hangs from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson
import requests

from connector.errors import BadInput
from platforms.protocol import Connection
from platforms.reach import checked_store_url, why_unreachable

TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{16,2048}")  # integration tokens: 32 [a-z0-9]; JWTs allowed
REST_TAIL = re.compile(r"/rest(/[A-Za-z0-9_]+)?(/V1)?$")  # …/rest, …/rest/V1, …/rest/default/V1
VIEW_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")
VIEWS_AT = "the codes are under Stores > Settings > All Stores"
HOW = "make an integration under System → Extensions → Integrations, activate it and pass its Access Token"


def normalize_store_url(value: str) -> str:
    url = checked_store_url(value)
    return REST_TAIL.sub("", url)  # the store's base, if its REST address was pasted


def check_token(token: str) -> str:
    token = (token or "").strip()
    if not TOKEN.fullmatch(token):
        raise BadInput(
            f"the access token should be the integration's Access Token (32 letters and digits): {HOW}"
        )
    return token


def verify_token(url: str, token: str, timeout: float = 10.0) -> None:
    """Ask the store once, with the token, for one customer: BadInput says which check failed
    (reachable, Magento's REST API there, the token accepted and allowed to read customers).
    Redirects are not followed, so the token goes to no other address."""
    try:
        answer = requests.get(
            f"{url}/rest/V1/customers/search",
            params={"searchCriteria[pageSize]": "1", "searchCriteria[currentPage]": "1"},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise BadInput(f"{url} cannot be reached ({why_unreachable(exc)}): check --url") from None
    body = _json(answer)
    if answer.status_code in (401, 403) and isinstance(body, dict) and "message" in body:
        raise BadInput(
            f"{url} refused the access token ({_message(body, answer.status_code)}): {HOW}, "
            "with access to Customers, Sales and Catalog"
        )
    if answer.status_code != 200 or not (isinstance(body, dict) and "total_count" in body):
        raise BadInput(
            f"{url} is not a Magento store (HTTP {answer.status_code} for /rest/V1/customers/search): "
            "check --url, including the store's path"
        )


def _json(answer: requests.Response) -> object:
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return None


def _message(body: dict[str, object], status: int) -> str:
    """Magento's words, with its %placeholders filled in from `parameters`: untrusted, so cut
    short and printable only."""
    text = str(body.get("message") or "")
    parameters = body.get("parameters")
    if isinstance(parameters, dict):
        for name, value in parameters.items():
            text = text.replace(f"%{name}", str(value))
    elif isinstance(parameters, list):
        for n, value in enumerate(parameters, start=1):
            text = text.replace(f"%{n}", str(value))
    shown = "".join(c for c in text[:160] if c.isprintable())
    return shown or f"HTTP {status}"


def check_view_codes(given: str) -> list[str]:
    """The store view codes asked for (comma-joined, repeatable flag), each as Magento allows
    a store code: a lower-case letter, then lower-case letters, digits and underscores."""
    codes = [c.strip() for c in given.split(",") if c.strip()]
    for code in codes:
        if not VIEW_CODE.fullmatch(code):
            shown = "".join(ch for ch in code[:40] if ch.isprintable())
            raise BadInput(f"--store-view {shown!r} is not a store view code (e.g. default): {VIEWS_AT}")
    return sorted(set(codes))


def verify_views(url: str, token: str, codes: list[str], timeout: float = 10.0) -> None:
    """Each code asked for is one of the store's store views (`V1/store/storeViews`)."""
    answer = requests.get(
        f"{url}/rest/V1/store/storeViews",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=timeout,
        allow_redirects=False,
    )
    body = _json(answer)
    if answer.status_code != 200 or not isinstance(body, list):
        raise BadInput(
            f"{url} did not list its store views (HTTP {answer.status_code}): "
            "the integration needs access to Stores > Settings > All Stores"
        )
    known = {str(v.get("code")) for v in body if isinstance(v, dict) and v.get("code") != "admin"}
    unknown = [c for c in codes if c not in known]
    if unknown:
        have = ", ".join(sorted(known)[:20])
        raise BadInput(f"{url} has no store view {unknown[0]!r}: its store views are {have}")


def connect_by_hand(options: Mapping[str, str]) -> Connection:
    """A store and an integration access token pasted by hand, once the store has accepted it;
    with store view codes, only those are synced (kept with the credentials: a setting of the
    store the reader needs, sealed with what it reads by)."""
    url, token = normalize_store_url(options["url"]), check_token(options["token"])
    codes = check_view_codes(options.get("store_view") or "")
    verify_token(url, token)
    credentials: dict[str, object] = {"access_token": token}
    if codes:
        try:
            verify_views(url, token, codes)
        except requests.RequestException as exc:
            raise BadInput(f"{url} cannot be reached ({why_unreachable(exc)}): check --url") from None
        credentials["store_views"] = codes
    return Connection(url, credentials, None)
