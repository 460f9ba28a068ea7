"""The merchant dashboard: server-rendered pages (no build step), login required, every
page scoped to the signed-in user's merchant account, every form CSRF-protected.

Pages: stores (sync progress and ETA, webhook health with a repair button, failed
records with their reasons and a retry), contacts and a contact's 360° view, the channel
report with a chart, sales by region and low stock, segments and the re-engagement
list, subscriptions. The data comes from `connector.web.queries`, as the JSON API's does.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any

import redis
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import ValidationError

import platforms
from connector import db, logs
from connector.accounts.stores import describe
from connector.context import settings_of, vault_of
from connector.crm import insights, reports
from connector.db.models import Account, Store
from connector.db.operations import DashboardUser
from connector.db.types import utcnow
from connector.errors import BadInput, ConnectorError, NotFound
from connector.runtime.queue import get_redis
from connector.web import charts, lists, sign_in, store_lists
from connector.web import queries as views
from connector.web.listing import Column, Shown, csv_response, csv_text, url_with
from connector.web.queries.timeline import orders_by_month
from sync import retry
from webhooks import subscriptions

bp = Blueprint("dashboard", __name__)
bp.add_app_template_global(url_with, "url_with")
log = logs.get(__name__)


def create_user(conn: Connection, account_id: int, email: str, password: str) -> int:
    if len(password) < 10:
        raise BadInput("--password: at least 10 characters")
    values = {
        "account_id": account_id,
        "email": email.strip().lower(),
        "password_hash": generate_password_hash(password),
    }
    return int(conn.execute(insert(DashboardUser).values(**values).returning(DashboardUser.id)).scalar_one())


def set_password(conn: Connection, user_id: int, password: str) -> None:
    """A new password: every session signed in with the old one stops working."""
    if len(password) < 10:
        raise BadInput("--password: at least 10 characters")
    done = conn.execute(
        update(DashboardUser)
        .where(DashboardUser.id == user_id)
        .values(
            password_hash=generate_password_hash(password),
            session_generation=DashboardUser.session_generation + 1,
        )
    )
    if done.rowcount != 1:
        raise NotFound("dashboard user")


def _signed_in_user(conn: Connection) -> Any:
    """The user this session belongs to, if it is still valid (not signed out since, same password)."""
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = conn.execute(select(DashboardUser).where(DashboardUser.id == user_id)).first()
    tag = session.get("tag")
    if user is None or not isinstance(tag, str):
        return None
    return user if secrets.compare_digest(tag, _session_tag(user)) else None


def _session_tag(user: Any) -> str:
    secret = str(current_app.config["SECRET_KEY"])
    return sign_in.session_tag(secret, user.id, user.session_generation, user.password_hash)


def login_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        with db.get_engine().connect() as conn:
            user = _signed_in_user(conn)
            if user is None:
                session.clear()
                return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
            g.user, g.account_id = user, user.account_id
            g.account_name = conn.execute(select(Account.name).where(Account.id == user.account_id)).scalar()
        if request.method == "POST":
            try:
                validate_csrf(request.form.get("csrf_token"))
            except (ValidationError, CSRFError):
                return render_template(
                    "message.html", title="Form expired", text="Reload the page and try again."
                ), 400
        return view(*args, **kwargs)

    return guarded


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": g.get("embedded_form_token", generate_csrf)}  # the embedded app signs its own


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", error=None, email="")
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        return render_template("login.html", error="The form expired: try again."), 400
    email = (request.form.get("email") or "").strip().lower()
    throttle, address = sign_in.Throttle(get_redis()), request.remote_addr or "unknown"
    try:
        if not throttle.attempt(email, address):  # the password is not even looked at
            log.warning("dashboard login throttled")
            page = render_template("login.html", error=sign_in.THROTTLED, email=email)
            return page, 429, {"Retry-After": str(sign_in.WINDOW_S)}
        user = _password_user(email, request.form.get("password") or "")
        if user is None:
            log.warning("dashboard login refused")
            return render_template("login.html", error="Wrong e-mail or password.", email=email), 401
        throttle.succeeded(email, address)
    except redis.RedisError:  # failures cannot be counted: no password is checked meanwhile
        log.warning("dashboard login unavailable: redis is down")
        return render_template("login.html", error=sign_in.UNAVAILABLE, email=email), 503
    session.clear()
    session["user_id"] = user.id
    session["tag"] = _session_tag(user)
    log.info("dashboard login", extra={"user_id": user.id, "account_id": user.account_id})
    return redirect(sign_in.local_path(request.args.get("next")) or url_for("overview.page"))


def _password_user(email: str, password: str) -> Any:
    """The user with this e-mail and password, or None (a hash is checked either way, so the
    answer takes as long for an unknown e-mail)."""
    with db.get_engine().begin() as conn:
        user = conn.execute(select(DashboardUser).where(DashboardUser.email == email)).first()
        if (
            not check_password_hash(user.password_hash if user else sign_in.nobody_hash(), password)
            or not user
        ):
            return None
        conn.execute(update(DashboardUser).where(DashboardUser.id == user.id).values(last_login_at=utcnow()))
    return user


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Signs this user out everywhere: the generation moves on, so no earlier cookie works."""
    with db.get_engine().begin() as conn:
        conn.execute(
            update(DashboardUser)
            .where(DashboardUser.id == g.user.id)
            .values(session_generation=DashboardUser.session_generation + 1)
        )
    session.clear()
    log.info("dashboard logout", extra={"user_id": g.user.id})
    return redirect(url_for("dashboard.login"))


def _rules() -> insights.Rules:
    return insights.Rules.of(current_app)


@bp.get("/stores")
@login_required
def stores() -> ResponseReturnValue:
    def work(conn: Connection) -> dict[str, Any] | Response:
        with db.session() as s:
            mine = s.scalars(select(Store).where(Store.account_id == g.account_id).order_by(Store.id))
            shown = store_lists.stores(describe(s, list(mine)), request.args)
        running = any(e["activity"] == "syncing" for r in shown.rows for e in r["entities"].values())
        ways = [p.HOW_TO_CONNECT for p in platforms.every()]
        return _shown(
            shown,
            "stores",
            {
                "letters": store_lists.open_letters(conn, g.account_id),
                "refresh": running,
                "how_to_connect": ", or ".join(w for w in ways if w),
                "args": request.args,
                "platforms": platforms.names(),
            },
        )

    return _page("stores.html", work)


def _own_store(store_id: int) -> Any:
    with db.session() as s:
        found = s.scalar(select(Store).where(Store.id == store_id, Store.account_id == g.account_id))
    if found is None:
        raise NotFound("store")
    return found


@bp.post("/stores/<id:store_id>/webhooks")
@login_required
def webhooks(store_id: int) -> ResponseReturnValue:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    fix = request.form.get("action") == "repair"
    with db.session() as s, s.begin():
        store = s.scalar(select(Store).where(Store.id == store_id, Store.account_id == g.account_id))
        if store is None:
            return render_template("message.html", title="Not found", text="No such store."), 404
        try:
            health = (subscriptions.repair if fix else subscriptions.check)(
                settings_of(app), vault_of(app), store
            )
        except ConnectorError as exc:
            flash(f"{store.domain}: the platform could not be asked ({exc.reason}).")
            return redirect(url_for("dashboard.stores"))
    state = (
        "all present"
        if health.ok
        else f"missing: {', '.join(health.missing) or '-'}; disabled: {', '.join(health.disabled) or '-'}"
    )
    flash(f"{store.domain} webhooks {'repaired, ' if fix else ''}{state}.")
    return redirect(url_for("dashboard.stores"))


@bp.post("/dead-letters/<id:letter_id>/retry")
@login_required
def retry_letter(letter_id: int) -> ResponseReturnValue:
    flash_retry(letter_id, "Failed record")
    return redirect(url_for("dashboard.stores"))


def flash_retry(letter_id: int, noun: str) -> None:
    """Retry one dead letter of the signed-in account (a store's or a destination's); say how."""
    try:
        done = retry.retry(current_app._get_current_object(), letter_id, g.account_id)  # type: ignore[attr-defined]
        flash(f"{noun} {letter_id}: {done['outcome']}.")
    except BadInput as exc:
        flash(exc.reason)


@bp.post("/dead-letters/retry-all")
@login_required
def retry_letters() -> ResponseReturnValue:
    done = retry.retry_all(current_app._get_current_object(), g.account_id)  # type: ignore[attr-defined]
    flash(f"{len(done)} failed records retried.")
    return redirect(url_for("dashboard.stores"))


def _page(template: str, work: Callable[[Connection], dict[str, Any] | Response]) -> ResponseReturnValue:
    try:
        with db.get_engine().connect() as conn:
            done = work(conn)
            return done if isinstance(done, Response) else render_template(template, **done)
    except BadInput as exc:
        return render_template("message.html", title="Check the filters", text=exc.reason), 400
    except NotFound as exc:
        return render_template("message.html", title="Not found", text=f"No such {exc.reason}."), 404


def _shown(
    shown: Shown, name: str, context: dict[str, Any], columns: tuple[Column, ...] | None = None
) -> dict[str, Any] | Response:
    """The page of a list, or (`format=csv`) every row it filters, as CSV."""
    if shown.view.csv:
        return csv_response(csv_text(columns or shown.view.listing.columns, shown.rows), name)
    return {"shown": shown, **context}


@bp.get("/contacts")
@bp.get("/contacts.csv", endpoint="contacts_csv", defaults={"format": "csv"})
@login_required
def contacts(format: str | None = None) -> ResponseReturnValue:
    def work(conn: Connection) -> dict[str, Any] | Response:
        args = request.args.to_dict() | ({"format": format} if format else {})
        shown = lists.contacts(conn, g.account_id, args, _rules())
        filtered = any(request.args.get(k) for k in lists.CONTACT_FILTERS)
        segments = [n for n, _r in insights.SEGMENTS]
        context = {"args": request.args, "segments": segments, "filtered": filtered}
        return _shown(shown, "contacts", context, lists.CONTACT_CSV)

    return _page("contacts.html", work)


@bp.get("/contacts/<id:contact_id>")
@login_required
def contact(contact_id: int) -> ResponseReturnValue:
    def work(conn: Connection) -> dict[str, Any] | Response:
        found = views.contact_360(conn, g.account_id, contact_id, _rules())
        if found is None:
            raise NotFound("contact")
        return _shown(
            lists.contact_orders(conn, g.account_id, contact_id, request.args),
            "orders",
            {"c": found, "charts": [charts.contact_orders(orders_by_month(conn, g.account_id, contact_id))]},
        )

    return _page("contact.html", work)


@bp.get("/channels")
@login_required
def channels() -> ResponseReturnValue:
    weights = settings_of(current_app).channel_credit

    def work(conn: Connection) -> dict[str, Any] | Response:
        shown = lists.channels(conn, g.account_id, request.args, weights)
        return _shown(shown, "channels", {"charts": charts.channels(shown.extra)})

    return _page("channels.html", work)


@bp.get("/sales")
@login_required
def sales() -> ResponseReturnValue:
    def work(conn: Connection) -> dict[str, Any] | Response:
        ids = views.store_ids(conn, g.account_id)
        covers = [c for sid in ids for c in reports.inventory_cover(conn, sid, utcnow())]
        shown = lists.sales(conn, g.account_id, request.args)
        low = store_lists.low_stock(covers, store_lists.domains(conn, g.account_id), request.args)
        if low.view.csv:
            return _shown(low, "low-stock", {})
        found = {**shown.extra, "rows": shown.extra["matching"]}
        return _shown(
            shown,
            "sales",
            {"low": low, "args": request.args, "charts": [*charts.sales(found), charts.cover(covers)]},
        )

    return _page("sales.html", work)


@bp.get("/segments")
@login_required
def segments() -> ResponseReturnValue:
    def work(conn: Connection) -> dict[str, Any] | Response:
        shown = lists.segments(conn, g.account_id, request.args)
        again = lists.reengagement(conn, g.account_id, request.args, _rules())
        if again.view.csv:
            return _shown(again, "reengagement", {})
        found, domains = shown.extra["all"], shown.extra["domains"]
        return _shown(shown, "segments", {"again": again, "charts": charts.segments(found, domains)})

    return _page("segments.html", work)


@bp.get("/subscriptions")
@login_required
def product_subscriptions() -> ResponseReturnValue:
    return _page(
        "subscriptions.html",
        lambda conn: _shown(
            lists.product_subscriptions(conn, g.account_id, request.args),
            "subscriptions",
            {"args": request.args},
        ),
    )


@bp.get("/failed-records")
@login_required
def failed_records() -> ResponseReturnValue:
    return _page(
        "failed_records.html",
        lambda conn: _shown(
            lists.failed_records(conn, g.account_id, request.args), "failed-records", {"args": request.args}
        ),
    )
