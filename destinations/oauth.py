"""One OAuth 2.0 token request (RFC 6749 §4.1.3 / §4.4 / §6: a form POSTed to the CRM's token
endpoint), shared by every destination that signs in by a grant: the answer's JSON on success,
otherwise the connector error named for what the caller does next — RetryLater when the endpoint
is unreachable or busy, Reauthorize when the grant or client is refused (RFC 6749's `error`, or
HubSpot's `status` and `message`), FailPermanently when the address does not answer as an OAuth
token endpoint at all. Also the authorization request's parts: the app (`App`) and PKCE (RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from connector.errors import BadInput, FailPermanently, Reauthorize, RetryLater

TIMEOUT_S = 30


@dataclass(frozen=True)
class App:
    """The connector's own app registered with a CRM (its client id and secret, configured by the
    operator), and where that CRM's authorization page is."""

    client_id: str
    client_secret: str
    authorize_url: str

    def authorization(self, query: Mapping[str, str]) -> str:
        """The authorization page's address with `query` and this app's client id."""
        separator = "&" if "?" in self.authorize_url else "?"
        return self.authorize_url + separator + urlencode({"client_id": self.client_id, **query})


@dataclass(frozen=True)
class Grant:
    """What came back from the merchant's consent: the code and the callback's other parameters
    (Zoho's `accounts-server`), the redirect URI it was asked for, the PKCE verifier kept for it
    ("" where the CRM takes none), and the CRM's configured address (`api_url`: HubSpot's API,
    Salesforce's login host, Zoho's accounts server): the one origin allowed without https."""

    code: str
    redirect_uri: str
    verifier: str
    returned: Mapping[str, str]
    api_url: str


def secure_address(url: object, configured: str, what: str) -> str:
    """`url` as an origin the connector will send credentials to: https, or the very origin of the
    configured address when that one is not https (a sandbox the operator pointed at); else BadInput."""
    text = str(url or "").strip().rstrip("/")
    parts, mine = urlsplit(text), urlsplit(configured)
    same = (parts.scheme, parts.netloc) == (mine.scheme, mine.netloc)
    if not parts.netloc or parts.query or parts.fragment or parts.username or parts.password:
        raise BadInput(f"the CRM answered {what} {text!r}, which is not an address; nothing was saved")
    if parts.scheme != "https" and not (same and mine.scheme == "http"):
        raise BadInput(f"the CRM answered {what} {text!r}, which is not https; nothing was saved")
    return text


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier (43 unreserved characters) and its S256 challenge (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(32)
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def redeem_code(
    app: App, grant: Grant, token_url: str, no_refresh: str, **extra: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The authorization code exchanged at `token_url`: the CRM's token answer, and the grant to
    keep (this app's client id and secret with the refresh token). An answer without a refresh
    token is refused with `no_refresh` (what the merchant or operator should change)."""
    form = {
        "grant_type": "authorization_code",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": grant.redirect_uri,
        "code": grant.code,
        **extra,
    }
    with requests.Session() as http:
        answer = token_grant(http, token_url, form)
    refresh_token = answer.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise BadInput(f"{no_refresh}; nothing was saved")
    return answer, {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "refresh_token": refresh_token,
    }


def token_grant(session: requests.Session, url: str, form: Mapping[str, str]) -> dict[str, Any]:
    """POST `form` to `url`; the token answer (it holds `access_token`), or a connector error."""
    try:
        answer = session.post(url, data=dict(form), timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise RetryLater(
            f"the token endpoint could not be reached: {_why(exc)}", detail=type(exc).__name__
        ) from exc
    if answer.status_code == 429 or answer.status_code >= 500:
        raise RetryLater(f"the token endpoint answered {answer.status_code}")
    body = json_object(answer)
    if answer.status_code == 200 and isinstance(body.get("access_token"), str):
        return body
    error = body.get("error")
    if not isinstance(error, str) and answer.status_code in (400, 401) and "message" in body:
        error = body.get("status")  # HubSpot: {"status": "BAD_REFRESH_TOKEN", "message": ...}
    if isinstance(error, str):  # Zoho answers a refusal with 200, Salesforce with 400
        described = body.get("error_description") or body.get("message")
        words = f"{error}: {described}" if isinstance(described, str) and described else error
        raise Reauthorize(f"the grant was refused ({words})", detail=error)
    raise FailPermanently(
        f"{url} did not answer as an OAuth token endpoint ({answer.status_code})",
        detail=answer.headers.get("Content-Type", ""),
    )


def _why(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return "its TLS certificate is not trusted"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT_S} s"
    if isinstance(exc, requests.ConnectionError):
        return "nothing answered at that address (a wrong host or port, or no network)"
    return type(exc).__name__


def json_object(answer: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} where it is none (not JSON, or a list or a scalar)."""
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
