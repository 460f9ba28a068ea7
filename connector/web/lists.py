"""The dashboard's lists, each a `listing.Listing` (its sortable columns, its filters) and the
function that answers one page of it for an account: contacts, a contact's orders, failed
records, product subscriptions, sales by region (with its totals), segments, the
re-engagement list and the channel report. Rows come from `connector.web.queries` and the
models; SQL lists are counted and paged in SQL, reports (already aggregates) in memory.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.engine import Connection

from connector.crm import insights
from connector.db.models import Contact, Order, Store
from connector.db.operations import DeadLetter
from connector.db.people import ContactInsight, ProductSubscription
from connector.errors import BadInput
from connector.web import queries as views
from connector.web.listing import Column, Listing, Shown, rows_page, sql_page, view_of
from connector.web.queries.contacts import CSV_FIELDS, matching, summaries
from connector.web.queries.orders import shipments
from connector.web.store_lists import LOW_STOCK

CONTACT_FILTERS = ("q", "segment", "advocate", "inactive", "across_stores", "channel", "subscribed")


def _insight_total(column: Any, stores: list[int]) -> Any:
    ci = ContactInsight
    return select(column).where(ci.contact_id == Contact.id, ci.store_id.in_(stores)).scalar_subquery()


def contacts_listing(stores: list[int]) -> Listing:
    ci = ContactInsight
    name = func.lower(func.coalesce(Contact.last_name, "") + " " + func.coalesce(Contact.first_name, ""))
    return Listing(
        "contacts",
        (
            Column("id", "id", Contact.id),
            Column("name", "name", name),
            Column("email", "e-mail", Contact.email_normalized),
            Column("phone", "phone", Contact.phone_e164),
            Column("orders", "orders", _insight_total(func.sum(ci.orders), stores)),
            Column("spend", "spend", _insight_total(func.sum(ci.spend), stores)),
            Column("last_order_at", "last order", _insight_total(func.max(ci.last_order_at), stores)),
        ),
        "-last_order_at",
        CONTACT_FILTERS,
    )


def contacts(conn: Connection, account_id: int, args: Any, rules: insights.Rules) -> Shown:
    stores = views.store_ids(conn, account_id)
    listing = contacts_listing(stores)
    query = select(Contact).where(*matching(conn, account_id, args, rules))
    shown = sql_page(conn, view_of(listing, args), query, Contact.id)
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(shown.rows), 500):  # a CSV holds every row: ask in batches
        found |= summaries(conn, [r.id for r in shown.rows[start : start + 500]], stores, rules)
    shown.rows = [
        {
            "id": r.id,
            "email": r.email,
            "phone": r.phone_e164,
            "first_name": r.first_name,
            "last_name": r.last_name,
            **found[r.id],
        }
        for r in shown.rows
    ]
    return shown


CONTACT_CSV = tuple(Column(f, f, sortable=False) for f in CSV_FIELDS)


def contact_orders(conn: Connection, account_id: int, contact_id: int, args: Any) -> Shown:
    """The contact's orders in the account's stores (every one, a page at a time)."""
    listing = Listing(
        "orders",
        (
            Column("created_at", "date", Order.source_created_at),
            Column("name", "order", Order.name),
            Column("store", "store", Store.domain),
            Column("total", "total", Order.total_price),
            Column("channel", "channel", Order.channel),
            Column("financial_status", "status", Order.financial_status),
        ),
        "-created_at",
        prefix="o_",
    )
    query = (
        select(
            Order.id,
            Order.store_id,
            Order.platform_id,
            Store.domain.label("store"),
            Store.time_zone,  # the order's times are shown in its store's zone
            Order.name,
            Order.source_created_at.label("created_at"),
            Order.total_price.label("total"),
            Order.currency,
            Order.channel,
            Order.financial_status,
            Order.fulfillment_status,
        )
        .join(Store, Store.id == Order.store_id)
        .where(Order.contact_id == contact_id, Store.account_id == account_id)
    )
    shown = sql_page(conn, view_of(listing, args, checked=False), query, Order.id)
    tracking = shipments(conn, [(o.store_id, o.platform_id) for o in shown.rows])
    shown.rows = [
        {**views.plain(dict(o._mapping)), "shipments": tracking.get((o.store_id, o.platform_id), [])}
        for o in shown.rows
    ]
    return shown


LETTERS = Listing(
    "failed-records",
    (
        Column("created_at", "when", DeadLetter.created_at),
        Column("store", "store", Store.domain),
        Column("kind", "what", DeadLetter.kind),
        Column("reason", "why", DeadLetter.reason),
        Column("attempts", "attempts", DeadLetter.attempts),
    ),
    "-created_at",
    ("kind", "q"),
)
LETTER_KINDS = ("webhook", "sync", "notification")


def failed_records(conn: Connection, account_id: int, args: Any) -> Shown:
    """The account's failed records not yet resolved."""
    view = view_of(LETTERS, args)
    query = (
        select(DeadLetter.__table__, Store.domain.label("store"))
        .join(Store, Store.id == DeadLetter.store_id)
        .where(Store.account_id == account_id, DeadLetter.resolved_at.is_(None))
    )
    kind = args.get("kind")
    if kind:
        if kind not in LETTER_KINDS:
            raise BadInput(f"kind: one of {', '.join(LETTER_KINDS)}")
        query = query.where(DeadLetter.kind == kind)
    if args.get("q"):
        query = query.where(func.lower(DeadLetter.reason).like(_like(args["q"]), escape="\\"))
    shown = sql_page(conn, view, query, DeadLetter.id)
    shown.rows = [dict(r._mapping) for r in shown.rows]
    return shown


def _like(text: str) -> str:
    if len(text) > 200:
        raise BadInput("q: at most 200 characters")
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


PS = ProductSubscription
SUBSCRIPTION_STATE = case(
    (PS.unsubscribed_at.is_not(None), "unsubscribed"),
    (PS.confirmed_at.is_not(None), "confirmed"),
    else_="waiting",
)
SUBSCRIPTIONS = Listing(
    "subscriptions",
    (
        Column("created_at", "since", PS.created_at),
        Column("store", "store", Store.domain),
        Column("email", "e-mail", Contact.email_normalized),
        Column("scope", "scope", PS.scope_type),
        Column("state", "state", SUBSCRIPTION_STATE),
    ),
    "-created_at",
    ("state", "q"),
)
SUBSCRIPTION_STATES = ("confirmed", "waiting", "unsubscribed")


def product_subscriptions(conn: Connection, account_id: int, args: Any) -> Shown:
    view = view_of(SUBSCRIPTIONS, args)
    query = (
        select(
            PS.__table__,
            Contact.email.label("email"),
            Store.domain.label("store"),
            SUBSCRIPTION_STATE.label("state"),
        )
        .join(Contact, Contact.id == PS.contact_id)
        .join(Store, Store.id == PS.store_id)
        .where(Store.account_id == account_id)
    )
    state = args.get("state")
    if state:
        if state not in SUBSCRIPTION_STATES:
            raise BadInput(f"state: one of {', '.join(SUBSCRIPTION_STATES)}")
        query = query.where(state == SUBSCRIPTION_STATE)
    if args.get("q"):
        like = _like(args["q"])
        query = query.where(
            or_(
                Contact.email_normalized.like(like, escape="\\"),
                func.lower(PS.scope_value).like(like, escape="\\"),
            )
        )
    shown = sql_page(conn, view, query, PS.id)
    shown.rows = [{**r._mapping, "scope": r.scope_type} for r in shown.rows]
    return shown


SALES = Listing(
    "sales",
    (
        Column("period", "period"),
        Column("country", "country"),
        Column("region", "region"),
        Column("title", "product"),
        Column("units", "units"),
        Column("revenue", "revenue"),
        Column("currency", "currency"),
    ),
    "-period",
    ("since", "until", "period", "product", "country", "region", *LOW_STOCK.accepted()),
)
SALES_FILTERS = ("product", "country", "region")


def sales(conn: Connection, account_id: int, args: Any) -> Shown:
    """Sales by region over the period, filtered by product, country and region, with the
    totals of every matching row (not just the page's)."""
    view = view_of(SALES, args)
    report_args = {k: v for k, v in args.items() if k in ("since", "until", "period")}
    report = views.sales_by_region(conn, account_id, report_args)
    wanted = {k: (args.get(k) or "").strip().casefold() for k in SALES_FILTERS}
    for name, value in wanted.items():
        if len(value) > 200:
            raise BadInput(f"{name}: at most 200 characters")
    rows = [r for r in report["rows"] if _sale_matches(r, wanted)]
    shown = rows_page(view, rows)
    shown.extra = {**report, "rows": None, "matching": rows, "totals": _totals(rows)}
    return shown


def _sale_matches(row: dict[str, Any], wanted: dict[str, str]) -> bool:
    fields = {"product": row.get("title") or str(row.get("product_id") or ""), **row}
    return all(not value or value in str(fields.get(name) or "").casefold() for name, value in wanted.items())


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    revenue: dict[str, Decimal] = {}
    for r in rows:
        currency = r.get("currency") or ""
        revenue[currency] = revenue.get(currency, Decimal(0)) + Decimal(r["revenue"])
    return {"units": sum(r["units"] for r in rows), "revenue": revenue, "rows": len(rows)}


SEGMENTS = Listing(
    "segments",
    (
        Column("store", "store"),
        Column("segment", "segment"),
        Column("contacts", "contacts"),
        Column("spend", "spend"),
        Column("currency", "currency"),
    ),
    "-contacts",
)
REENGAGE = Listing(
    "reengagement",
    (Column("email", "e-mail"), Column("reason", "why"), Column("recovery_url", "recovery link")),
    "email",
    prefix="r_",
)


def segments(conn: Connection, account_id: int, args: Any) -> Shown:
    domains = dict(conn.execute(select(Store.id, Store.domain).where(Store.account_id == account_id)).all())
    rows = [{**s, "store": domains.get(s["store_id"])} for s in views.segments(conn, account_id)]
    view_of(REENGAGE, args, checked=False)
    only_these = (*(a for a in SEGMENTS.accepted()), *REENGAGE.accepted())
    unknown = sorted(set(args) - set(only_these))
    if unknown:
        raise BadInput(f"{unknown[0]}: this page takes {', '.join(only_these)}")
    shown = rows_page(view_of(SEGMENTS, args, checked=False), rows)
    shown.extra = {"all": rows, "domains": domains}
    return shown


def reengagement(conn: Connection, account_id: int, args: Any, rules: insights.Rules) -> Shown:
    return rows_page(view_of(REENGAGE, args, checked=False), views.reengagement(conn, account_id, rules))


CHANNELS = Listing(
    "channels",
    tuple(
        Column(key, key.replace("_", " "))
        for key in (
            "channel",
            "orders",
            "revenue",
            "revenue_share",
            "customers",
            "new_customers",
            "repeat_rate",
            "average_order_value",
            "conversion",
            "credit",
            "currency",
        )
    ),
    "-revenue",
    ("since", "until"),
)


def channels(conn: Connection, account_id: int, args: Any, weights: tuple[tuple[str, float], ...]) -> Shown:
    view = view_of(CHANNELS, args)
    report = views.channel_report(
        conn, account_id, {k: v for k, v in args.items() if k in ("since", "until")}, weights
    )
    shown = rows_page(view, report["channels"])
    shown.extra = report
    return shown
