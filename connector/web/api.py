"""The JSON API (`/api/v1`): bearer tokens per merchant account, every query filtered by it.

A token sees only its own account's stores, orders and contacts; anything else is 404,
exactly as if it did not exist. Credentials and secrets are never part of an answer.
Lists come in cursor pages (`limit`, `cursor` → `next_cursor`); bad parameters get a 400
naming the parameter. The OpenAPI document describing all of it is `connector/web/openapi.py`.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from connector import db
from connector.accounts.stores import describe
from connector.context import settings_of, vault_of
from connector.crm import insights
from connector.db.models import Store
from connector.db.operations import ApiToken, DeadLetter
from connector.db.types import utcnow
from connector.errors import BadInput, ConnectorError, NotFound
from connector.web import openapi
from connector.web import queries as views
from connector.web.common import answer
from sync import retry
from webhooks import subscriptions

bp = Blueprint("api", __name__, url_prefix="/api/v1")
BIGGEST_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """A record id in a path: 1 to 2^63-1 (a larger number is no record of ours: 404)."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=BIGGEST_ID)


@bp.record_once
def _id_converter(state: Any) -> None:
    state.app.url_map.converters.setdefault("id", IdConverter)


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


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    return openapi.document(), 200


@bp.get("/stores")
@authenticated
def stores() -> ResponseReturnValue:
    with db.session() as s:
        rows = list(s.scalars(select(Store).where(Store.account_id == g.account_id).order_by(Store.id)))
        return {"stores": describe(s, rows)}, 200


@bp.get("/stores/<id:store_id>")
@authenticated
def store(store_id: int) -> ResponseReturnValue:
    with db.session() as s:
        found = s.scalar(select(Store).where(Store.id == store_id, Store.account_id == g.account_id))
        if found is None:
            return _not_found("store")
        return describe(s, [found])[0], 200


@bp.get("/stores/<id:store_id>/webhooks")
@authenticated
def webhook_health(store_id: int) -> ResponseReturnValue:
    return _webhooks(store_id, fix=False)


@bp.post("/stores/<id:store_id>/webhooks/repair")
@authenticated
def webhook_repair(store_id: int) -> ResponseReturnValue:
    return _webhooks(store_id, fix=True)


def _webhooks(store_id: int, *, fix: bool) -> ResponseReturnValue:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.session() as s, s.begin():
        found = s.scalar(select(Store).where(Store.id == store_id, Store.account_id == g.account_id))
        if found is None:
            return _not_found("store")
        try:
            act = subscriptions.repair if fix else subscriptions.check
            health = act(settings_of(app), vault_of(app), found)
        except ConnectorError as exc:
            return answer(502, f"the platform could not be asked: {exc.reason}")
        return health.as_dict(), 200


def _read(work: Callable[[Connection], Any]) -> ResponseReturnValue:
    """Run a read in one connection; bad input is a 400 naming the field, an unknown id a 404."""
    try:
        with db.get_engine().connect() as conn:
            return work(conn)
    except BadInput as exc:
        return answer(400, exc.reason)
    except NotFound as exc:
        return _not_found(exc.reason)


def _rules() -> insights.Rules:
    return insights.Rules.of(current_app)


@bp.get("/contacts")
@authenticated
def contacts() -> ResponseReturnValue:
    def work(conn: Connection) -> ResponseReturnValue:
        if request.args.get("format") == "csv":
            return _csv(conn)
        items, cursor = views.contacts(conn, g.account_id, request.args, _rules())
        return {"items": items, "next_cursor": cursor}, 200

    return _read(work)


def _csv(conn: Connection) -> ResponseReturnValue:
    return views.csv_answer(views.contacts_csv(conn, g.account_id, request.args, _rules()))


@bp.get("/contacts/<id:contact_id>")
@authenticated
def contact(contact_id: int) -> ResponseReturnValue:
    def work(conn: Connection) -> ResponseReturnValue:
        found = views.contact_360(conn, g.account_id, contact_id, _rules())
        return (found, 200) if found is not None else _not_found("contact")

    return _read(work)


@bp.get("/orders")
@authenticated
def orders() -> ResponseReturnValue:
    def work(conn: Connection) -> ResponseReturnValue:
        items, cursor = views.orders(conn, g.account_id, request.args)
        return {"items": items, "next_cursor": cursor}, 200

    return _read(work)


@bp.get("/orders/<id:order_id>")
@authenticated
def order(order_id: int) -> ResponseReturnValue:
    def work(conn: Connection) -> ResponseReturnValue:
        found = views.order_detail(conn, g.account_id, order_id)
        return (found, 200) if found is not None else _not_found("order")

    return _read(work)


@bp.get("/products")
@authenticated
def products() -> ResponseReturnValue:
    return _read(lambda conn: ({"items": views.products(conn, g.account_id, request.args)}, 200))


@bp.get("/overview")
@authenticated
def overview() -> ResponseReturnValue:
    """The Overview page's figures for the same period arguments (period, from, to)."""
    try:
        with db.session() as s:
            return views.overview(s, g.account_id, request.args), 200
    except BadInput as exc:
        return answer(400, exc.reason)


@bp.get("/reports/channels")
@authenticated
def channel_report() -> ResponseReturnValue:
    weights = settings_of(current_app).channel_credit
    return _read(lambda conn: (views.channel_report(conn, g.account_id, request.args, weights), 200))


@bp.get("/reports/sales-by-region")
@authenticated
def sales_by_region() -> ResponseReturnValue:
    return _read(lambda conn: (views.sales_by_region(conn, g.account_id, request.args), 200))


@bp.get("/segments")
@authenticated
def segments() -> ResponseReturnValue:
    return _read(lambda conn: ({"items": views.segments(conn, g.account_id)}, 200))


@bp.get("/reengagement")
@authenticated
def reengagement() -> ResponseReturnValue:
    return _read(lambda conn: ({"items": views.reengagement(conn, g.account_id, _rules())}, 200))


@bp.get("/dead-letters")
@authenticated
def dead_letters() -> ResponseReturnValue:
    def work(conn: Connection) -> ResponseReturnValue:
        rows = conn.execute(
            select(DeadLetter)
            .join(Store, Store.id == DeadLetter.store_id)
            .where(Store.account_id == g.account_id, DeadLetter.resolved_at.is_(None))
            .order_by(DeadLetter.id)
            .limit(500)
        ).all()
        fields = ("id", "store_id", "kind", "entity", "platform_id", "reason", "attempts", "created_at")
        return {"items": [{f: views.plain(getattr(r, f)) for f in fields} for r in rows]}, 200

    return _read(work)


@bp.post("/dead-letters/<id:letter_id>/retry")
@authenticated
def retry_dead_letter(letter_id: int) -> ResponseReturnValue:
    try:
        return retry.retry(current_app._get_current_object(), letter_id, g.account_id), 200  # type: ignore[attr-defined]
    except BadInput:
        return _not_found("dead letter")


@bp.post("/dead-letters/retry-all")
@authenticated
def retry_all_dead_letters() -> ResponseReturnValue:
    done = retry.retry_all(current_app._get_current_object(), g.account_id)  # type: ignore[attr-defined]
    return {"items": done}, 200
