"""Salesforce's OAuth 2.0 endpoints as a connected app sees them: `POST /services/oauth2/token`
for the client-credentials, refresh-token and authorization-code (with PKCE) grants, answering
`instance_url`; `/services/oauth2/authorize`, a consent page (sandbox/consent.py) whose approval
issues a code for 15 minutes, one use, bound to the client, the redirect URI and the PKCE
challenge; `POST /services/oauth2/revoke`. Errors are `{"error", "error_description"}` with 400."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from flask import Request

from sandbox import consent
from sandbox.salesforce.org import SalesforceOrg

CODE_SECONDS = 15 * 60  # an authorization code's life, as Salesforce's web server flow says


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
        "instance_url": org.answered_instance_url or instance_url,
        "id": f"{instance_url}/id/{org.org_id}/{org.user_id}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
    }
    return body | ({"refresh_token": refresh} if refresh else {})


def _redeem(org: SalesforceOrg, request: Request) -> str:
    with org.lock:
        grant = org.codes.pop(request.form.get("code", ""), None)
    if grant is None or grant["expires_at"] < time.monotonic() or grant["client_id"] != org.client_id:
        raise OAuthError("invalid_grant", "expired authorization code")
    if grant["redirect_uri"] != request.form.get("redirect_uri"):
        raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
    challenge = grant.get("code_challenge")
    if challenge:
        verifier = request.form.get("code_verifier", "")
        if not verifier:
            raise OAuthError("invalid_grant", "code verifier is required")
        made = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(made, challenge):  # the REST API guide: invalid_request
            raise OAuthError("invalid_request", "invalid code verifier")
    refresh = secrets.token_urlsafe(60)
    org.refresh_tokens[refresh] = org.client_id
    return refresh


def check_request(org: SalesforceOrg, args: dict[str, str]) -> None:
    """An authorization request Salesforce would refuse before asking the user."""
    if args.get("client_id") != org.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if args.get("response_type") != "code" or not args.get("redirect_uri"):
        raise OAuthError("unsupported_response_type", "response type not supported")


def approve(org: SalesforceOrg, args: dict[str, str]) -> str:
    """The redirect an approved authorization request answers with: a new code and the state."""
    code = secrets.token_urlsafe(40)
    with org.lock:
        org.codes[code] = {
            "client_id": args["client_id"],
            "redirect_uri": args["redirect_uri"],
            "code_challenge": args.get("code_challenge", ""),
            "expires_at": time.monotonic() + CODE_SECONDS,
        }
    query = {"code": code} | ({"state": args["state"]} if "state" in args else {})
    return consent.back(args["redirect_uri"], query)


def revoke(org: SalesforceOrg, value: str) -> None:
    with org.lock:
        org.sessions.pop(value, None)
        org.refresh_tokens.pop(value, None)


def bearer(org: SalesforceOrg, request: Request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return scheme.lower() in ("bearer", "oauth") and org.session_valid(value.strip())
