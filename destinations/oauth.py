"""One OAuth 2.0 token request (RFC 6749 §4.4 / §6: a form POSTed to the CRM's token endpoint),
shared by the destinations that sign in by a grant (Salesforce, Zoho CRM): the answer's JSON on
success, otherwise the connector error named for what the caller does next — RetryLater when the
endpoint is unreachable or busy, Reauthorize when the grant or client is refused, FailPermanently
when the address does not answer as an OAuth token endpoint at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from connector.errors import FailPermanently, Reauthorize, RetryLater

TIMEOUT_S = 30


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
    if isinstance(error, str):  # Zoho answers a refusal with 200, Salesforce with 400
        described = body.get("error_description")
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
