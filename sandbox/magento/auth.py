"""Magento REST authentication: `Authorization: Bearer <token>` with an integration's access
token or an admin token, and `POST /rest/V1/integration/admin/token`, which exchanges an admin
username and password for a token (a JSON string). A bad token answers 401 naming the ACL
resource the route needs, as Magento's webapi does."""

from __future__ import annotations

import hmac
import secrets

from flask import Request

from sandbox.world import MagentoStore

NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
SIGN_IN_FAILED = (
    "The account sign-in was incorrect or your account is disabled temporarily. "
    "Please wait and try again later."
)


class MagentoAuthError(Exception):
    def __init__(self, message: str, status: int = 401, parameters: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.parameters = message, status, parameters or {}


def bearer(store: MagentoStore, request: Request, resource: str) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    known = store.tokens | store.admin_tokens
    if scheme.lower() != "bearer" or not any(hmac.compare_digest(token, t) for t in known):
        raise MagentoAuthError(NOT_AUTHORIZED, 401, {"resources": resource})


def admin_token(store: MagentoStore, body: object) -> str:
    if not isinstance(body, dict):
        raise MagentoAuthError("Decoding error: a JSON object with username and password was expected.", 400)
    for name in ("username", "password"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise MagentoAuthError('"%fieldName" is required. Enter and try again.', 400, {"fieldName": name})
    right_user = hmac.compare_digest(body["username"], store.admin_username)
    right_password = hmac.compare_digest(body["password"], store.admin_password)
    if not (right_user and right_password):
        raise MagentoAuthError(SIGN_IN_FAILED, 401)
    token = secrets.token_hex(16)
    store.admin_tokens.add(token)
    return token
