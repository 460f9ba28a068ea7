"""Zoho's accounts server, one per data center: `POST /oauth/v2/token` (refresh_token and
authorization_code grants, parameters in the query or the form) answering the access token,
`expires_in` and the `api_domain` of the data center; `/oauth/v2/auth`, a consent page
(sandbox/consent.py) whose approval redirects with `code` (one use, two minutes, bound to the
client and redirect URI), `location` and `accounts-server`; `POST /oauth/v2/token/revoke`. A
refusal is HTTP 200 with `{"error": "invalid_client" | "invalid_code" | ...}`, as Zoho answers;
a client registered in another data center is `invalid_client` here."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from sandbox import consent
from sandbox.zoho.org import TOKEN_SECONDS, ZohoOrg

CODE_SECONDS = 120  # UNVERIFIED: Zoho's server-based grant code is short-lived (docs/platform-facts-extra.md)


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
        with org.lock:
            code = org.codes.pop(params.get("code", ""), None)
        if code is None or code["expires_at"] < time.monotonic() or code["client_id"] != org.client_id:
            return {"error": "invalid_code"}
        if code["redirect_uri"] != params.get("redirect_uri", code["redirect_uri"]):
            return {"error": "invalid_redirect_uri"}
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


def check_request(org: ZohoOrg, dc: str, args: dict[str, str]) -> dict[str, str] | None:
    """Zoho's refusal of an authorization request before the user is asked, if any."""
    if args.get("client_id") != org.client_id or dc != org.dc:
        return {"error": "invalid_client"}
    if args.get("response_type") != "code" or not args.get("redirect_uri"):
        return {"error": "invalid_response_type"}
    return None


def approve(org: ZohoOrg, args: dict[str, str], accounts_url: str) -> str:
    code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
    with org.lock:
        org.codes[code] = {
            "client_id": args["client_id"],
            "redirect_uri": args["redirect_uri"],
            "expires_at": time.monotonic() + CODE_SECONDS,
        }
    query = {"code": code, "location": org.dc, "accounts-server": accounts_url}
    if "state" in args:
        query["state"] = args["state"]
    return consent.back(args["redirect_uri"], query)


def revoke(org: ZohoOrg, value: str) -> dict[str, str]:
    with org.lock:
        org.refresh_tokens.discard(value)
        org.tokens.pop(value, None)
    return {"status": "success"}
