"""Zoho's accounts server, one per data center: `POST /oauth/v2/token` (refresh_token and
authorization_code grants, parameters in the query or the form) answering the access token,
`expires_in` and the `api_domain` of the data center; `GET /oauth/v2/auth`, approved at once,
redirecting with `code`, `location` and `accounts-server`; `POST /oauth/v2/token/revoke`. A
refusal is HTTP 200 with `{"error": "invalid_client" | "invalid_code" | ...}`, as Zoho answers;
a client registered in another data center is `invalid_client` here."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

from sandbox.zoho.org import TOKEN_SECONDS, ZohoOrg


def token(org: ZohoOrg, dc: str, params: dict[str, str], api_domain: str) -> dict[str, Any]:
    if not hmac.compare_digest(params.get("client_id", ""), org.client_id) or dc != org.dc:
        return {"error": "invalid_client"}
    if not hmac.compare_digest(params.get("client_secret", ""), org.client_secret):
        return {"error": "invalid_client_secret"}
    grant = params.get("grant_type", "")
    refresh = None
    if grant == "refresh_token":
        if params.get("refresh_token", "") not in org.refresh_tokens or org.revoked:
            return {"error": "invalid_code"}
    elif grant == "authorization_code":
        redirect = org.codes.pop(params.get("code", ""), None)
        if redirect is None or redirect != params.get("redirect_uri", redirect):
            return {"error": "invalid_code"}
        refresh = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        org.refresh_tokens.add(refresh)
    else:
        return {"error": "unsupported_grant_type"}
    with org.lock:
        access = org.issue_token()
    body = {
        "access_token": access,
        "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ",
        "api_domain": api_domain,
        "token_type": "Bearer",
        "expires_in": TOKEN_SECONDS,
    }
    return body | ({"refresh_token": refresh} if refresh else {})


def authorize(org: ZohoOrg, dc: str, args: dict[str, str], accounts_url: str) -> str | dict[str, str]:
    if args.get("client_id") != org.client_id or dc != org.dc:
        return {"error": "invalid_client"}
    if args.get("response_type") != "code" or not args.get("redirect_uri"):
        return {"error": "invalid_response_type"}
    code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
    org.codes[code] = args["redirect_uri"]
    query = {"code": code, "location": org.dc, "accounts-server": accounts_url}
    if "state" in args:
        query["state"] = args["state"]
    separator = "&" if "?" in args["redirect_uri"] else "?"
    return args["redirect_uri"] + separator + urlencode(query)


def revoke(org: ZohoOrg, value: str) -> dict[str, str]:
    with org.lock:
        org.refresh_tokens.discard(value)
        org.tokens.pop(value, None)
    return {"status": "success"}
