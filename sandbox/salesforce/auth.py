"""Salesforce's OAuth 2.0 endpoints as a connected app sees them: `POST /services/oauth2/token`
for the client-credentials, refresh-token and authorization-code (with PKCE) grants, answering
`instance_url`; `GET /services/oauth2/authorize`, approved at once as an admin clicking "Allow"
would; `POST /services/oauth2/revoke`. Errors are `{"error", "error_description"}` with 400."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from flask import Request

from sandbox.salesforce.org import SalesforceOrg


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _client(org: SalesforceOrg, request: Request, *, secret_required: bool = True) -> None:
    form = request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        client_id = request.authorization.username or ""
        secret = request.authorization.password
    if not hmac.compare_digest(client_id, org.client_id):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if (secret_required or secret is not None) and not hmac.compare_digest(secret or "", org.client_secret):
        raise OAuthError("invalid_client", "invalid client credentials")
    if org.revoked:
        raise OAuthError("invalid_grant", "expired access/refresh token")


def token(org: SalesforceOrg, request: Request, instance_url: str) -> dict[str, Any]:
    grant = request.form.get("grant_type", "")
    if grant not in ("client_credentials", "refresh_token", "authorization_code"):
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    _client(org, request, secret_required=grant != "refresh_token")
    refresh: str | None = None
    if grant == "refresh_token":
        if request.form.get("refresh_token", "") not in org.refresh_tokens:
            raise OAuthError("invalid_grant", "expired access/refresh token")
    elif grant == "authorization_code":
        refresh = _redeem(org, request)
    with org.lock:
        access = org.issue_session()
    body = {
        "access_token": access,
        "signature": base64.b64encode(
            hmac.digest(org.client_secret.encode(), access.encode(), "sha256")
        ).decode(),
        "scope": "api refresh_token" if refresh else "api",
        "instance_url": instance_url,
        "id": f"{instance_url}/id/{org.org_id}/{org.user_id}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
    }
    return body | ({"refresh_token": refresh} if refresh else {})


def _redeem(org: SalesforceOrg, request: Request) -> str:
    grant = org.codes.pop(request.form.get("code", ""), None)
    if grant is None or grant["redirect_uri"] != request.form.get("redirect_uri"):
        raise OAuthError("invalid_grant", "invalid authorization code")
    challenge = grant.get("code_challenge")
    if challenge:
        verifier = request.form.get("code_verifier", "")
        made = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(made, challenge):
            raise OAuthError("invalid_grant", "invalid code verifier")
    refresh = secrets.token_urlsafe(60)
    org.refresh_tokens[refresh] = org.client_id
    return refresh


def authorize(org: SalesforceOrg, args: dict[str, str]) -> str:
    """The redirect an approved authorization request answers with."""
    if args.get("client_id") != org.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if args.get("response_type") != "code" or not args.get("redirect_uri"):
        raise OAuthError("unsupported_response_type", "response type not supported")
    code = secrets.token_urlsafe(40)
    org.codes[code] = {"redirect_uri": args["redirect_uri"], "code_challenge": args.get("code_challenge", "")}
    query = {"code": code} | ({"state": args["state"]} if "state" in args else {})
    separator = "&" if "?" in args["redirect_uri"] else "?"
    return args["redirect_uri"] + separator + urlencode(query)


def revoke(org: SalesforceOrg, value: str) -> None:
    with org.lock:
        org.sessions.pop(value, None)
        org.refresh_tokens.pop(value, None)


def bearer(org: SalesforceOrg, request: Request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return scheme.lower() in ("bearer", "oauth") and org.session_valid(value.strip())
