"""HubSpot's OAuth for a public app, as the sandbox's portal answers it: the install page
(`/hubspot/oauth/authorize`, standing in for app.hubspot.com: a consent page with Approve and
Deny; a refusal sends nothing back, as HubSpot's docs say), the token endpoint
(`POST /hubspot/oauth/v1/token`: the authorization_code and refresh_token grants, answering
`{"token_type", "refresh_token", "access_token", "expires_in"}`; a refusal is a 400
`{"status": "BAD_AUTH_CODE" | "BAD_REFRESH_TOKEN" | ..., "message", "correlationId"}`), and the
token-info endpoint (`GET /hubspot/oauth/v1/access-tokens/<token>`: `hub_id`, `hub_domain`); the
same token grants at the dated API's `/oauth/2026-03/token`, and its introspection
(`POST /oauth/2026-03/token/introspect`)."""

from __future__ import annotations

import hmac
import time
import uuid
from typing import Any

from flask import request
from werkzeug.wrappers import Response

from sandbox import consent
from sandbox.hubspot.common import as_json, portal

CODE_SECONDS = 600  # UNVERIFIED: HubSpot documents no code lifetime; short, and one use
SCOPES = ["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.orders.read"]


def refused(status: str, message: str) -> Response:
    return as_json({"status": status, "message": message, "correlationId": str(uuid.uuid4())}, 400)


def authorize() -> Response:
    app = portal().oauth

    def check(args: dict[str, str]) -> Response | None:
        if args.get("client_id") != app.client_id:
            return refused("BAD_CLIENT_ID", "missing or unknown client_id")
        if not args.get("redirect_uri") or not args.get("scope"):
            return refused("BAD_REQUEST", "redirect_uri and scope are required")
        return None

    def approve(args: dict[str, str]) -> str:
        code = str(uuid.uuid4())
        with portal().lock:
            app.codes[code] = {
                "client_id": args["client_id"],
                "redirect_uri": args["redirect_uri"],
                "expires_at": time.monotonic() + CODE_SECONDS,
            }
        return consent.back(args["redirect_uri"], {"code": code} | _state(args))

    return consent.consent("HubSpot", check, approve, deny_redirects=False)


def _state(args: dict[str, str]) -> dict[str, str]:
    return {"state": args["state"]} if "state" in args else {}


def token() -> Response:
    p, form = portal(), request.form
    app = p.oauth
    app.asked.append(request.path)
    if not hmac.compare_digest(form.get("client_id", ""), app.client_id):
        return refused("BAD_CLIENT_ID", "missing or unknown client_id")
    if not hmac.compare_digest(form.get("client_secret", ""), app.client_secret):
        return refused("BAD_CLIENT_SECRET", "missing or invalid client_secret")
    grant = form.get("grant_type", "")
    with p.lock:
        if grant == "authorization_code":
            code = app.codes.pop(form.get("code", ""), None)
            if code is None or code["expires_at"] < time.monotonic() or code["client_id"] != app.client_id:
                return refused("BAD_AUTH_CODE", "missing or unknown auth code")
            if code["redirect_uri"] != form.get("redirect_uri"):
                return refused("BAD_REDIRECT_URI", "redirect_uri does not match initial auth request")
            refresh = str(uuid.uuid4())
            app.refresh_tokens.add(refresh)
        elif grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in app.refresh_tokens:
                return refused("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        else:
            return refused("BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token")
        access = app.issue()
    body: dict[str, Any] = {
        "token_type": "bearer",
        "refresh_token": refresh,
        "access_token": access,
        "expires_in": int(app.access_seconds),
    }
    return as_json(body)


def introspect() -> Response:
    """The dated API's token introspection (RFC 7662's shape, with the portal's `hub_id` and
    `hub_domain` as v1's token info gave them): the app's own credentials in the form."""
    p, form = portal(), request.form
    app = p.oauth
    app.asked.append(request.path)
    if not hmac.compare_digest(form.get("client_id", ""), app.client_id) or not hmac.compare_digest(
        form.get("client_secret", ""), app.client_secret
    ):
        return as_json({"error": "invalid_client", "error_description": "unknown client credentials"}, 401)
    expires = app.access.get(form.get("token", ""))
    if expires is None or expires < time.monotonic():
        return as_json({"active": False})
    return as_json(
        {
            "active": True,
            "client_id": app.client_id,
            "hub_id": p.portal_id,
            "hub_domain": app.hub_domain,
            "scope": " ".join(SCOPES),
            "token_type": "access_token",
            "exp": int(time.time() + expires - time.monotonic()),
            "user_id": 7_000_001,
        }
    )


def token_info(token: str) -> Response:
    p = portal()
    app = p.oauth
    app.asked.append("/hubspot/oauth/v1/access-tokens/…")
    expires = app.access.get(token)
    if expires is None:
        return as_json(
            {"status": "error", "message": "Token not found", "correlationId": str(uuid.uuid4())}, 404
        )
    return as_json(
        {
            "token": token,
            "user": "owner@sandbox.example",
            "hub_domain": app.hub_domain,
            "scopes": SCOPES,
            "hub_id": p.portal_id,
            "app_id": app.app_id,
            "expires_in": max(int(expires - time.monotonic()), 0),
            "user_id": 7_000_001,
            "token_type": "access",
        }
    )
