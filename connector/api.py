"""The JSON API (`/api/v1`): bearer tokens per merchant account, every query filtered by it.

A token sees only its own account's stores, orders and contacts; anything else is 404,
exactly as if it did not exist. Credentials and secrets are never part of an answer.
This is the tenancy core the fuller API (issue 8) builds on.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import db
from connector.models import ApiToken, Contact, Order, Store
from connector.stores import describe
from connector.types import utcnow
from connector.web import answer

bp = Blueprint("api", __name__, url_prefix="/api/v1")
TOKEN_PREFIX = "crm_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, account_id: int, name: str) -> str:
    """A new token for the account; it is shown once, only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=account_id, name=name, token_hash=token_hash(token)))
    return token


def authenticated(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not given.startswith(TOKEN_PREFIX):
            return answer(401, "an API token is required: Authorization: Bearer crm_…")
        with db.session() as s, s.begin():
            row = s.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(given)))
            if row is None:
                return answer(401, "this API token is not valid")
            s.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
            g.account_id = row.account_id
        return view(*args, **kwargs)

    return guarded


def _not_found(kind: str) -> ResponseReturnValue:
    return answer(404, f"no such {kind}")


@bp.get("/stores")
@authenticated
def stores() -> ResponseReturnValue:
    with db.session() as s:
        rows = list(s.scalars(select(Store).where(Store.account_id == g.account_id).order_by(Store.id)))
        return {"stores": describe(s, rows)}, 200


@bp.get("/stores/<int:store_id>")
@authenticated
def store(store_id: int) -> ResponseReturnValue:
    with db.session() as s:
        found = s.scalar(select(Store).where(Store.id == store_id, Store.account_id == g.account_id))
        if found is None:
            return _not_found("store")
        return describe(s, [found])[0], 200


@bp.get("/orders/<int:order_id>")
@authenticated
def order(order_id: int) -> ResponseReturnValue:
    with db.session() as s:
        found = s.scalar(
            select(Order)
            .join(Store, Store.id == Order.store_id)
            .where(Order.id == order_id, Store.account_id == g.account_id)
        )
        if found is None:
            return _not_found("order")
        fields = (
            "id",
            "store_id",
            "platform_id",
            "name",
            "email",
            "currency",
            "total_price",
            "financial_status",
            "fulfillment_status",
            "channel",
            "source_created_at",
            "deleted_at",
        )
        return {f: _json(getattr(found, f)) for f in fields}, 200


@bp.get("/contacts/<int:contact_id>")
@authenticated
def contact(contact_id: int) -> ResponseReturnValue:
    with db.session() as s:
        found = s.scalar(select(Contact).where(Contact.id == contact_id, Contact.account_id == g.account_id))
        if found is None:
            return _not_found("contact")
        fields = ("id", "email", "phone_e164", "first_name", "last_name")
        return {f: _json(getattr(found, f)) for f in fields}, 200


def _json(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value) if not hasattr(value, "isoformat") else value.isoformat()
