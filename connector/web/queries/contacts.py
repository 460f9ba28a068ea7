"""The contact list: the account's contacts (merged ones hidden) matching the filters (a
search, segment, advocate, inactive, channel, product subscription, bought in more than one
store), in keyset pages by id, with their count,
each with a summary of their insights across the account's stores; and the whole filtered
list as CSV a spreadsheet will not run.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Response
from sqlalchemy import and_, exists, func, or_, select, union
from sqlalchemy.engine import Connection

from connector.crm import insights
from connector.db.models import Contact, Customer, Order
from connector.db.people import ContactInsight, ProductSubscription
from connector.db.types import utcnow
from connector.errors import BadInput
from connector.web.queries.common import MAX_LIMIT, Page, decode_cursor, flag, keyset_page, plain, store_ids

CSV_FIELDS = ("id", "email", "phone", "first_name", "last_name", "orders", "spend", "segment", "advocate",
              "inactive", "last_order_at")  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def contacts(
    conn: Connection, account_id: int, args: Any, rules: insights.Rules, page: Page | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Contacts of the account matching the filters, one page, by id."""
    page = page or Page.of(args)
    now, stores = utcnow(), store_ids(conn, account_id)
    rows, cursor = keyset_page(conn, Contact, _where(account_id, args, rules, now, stores), page)
    summary = _summaries(conn, [r.id for r in rows], stores, rules, now)
    items = [
        {
            "id": r.id,
            "email": r.email,
            "phone": r.phone_e164,
            "first_name": r.first_name,
            "last_name": r.last_name,
            **summary.get(r.id, _no_summary()),
        }
        for r in rows
    ]
    return items, cursor


def contacts_count(conn: Connection, account_id: int, args: Any, rules: insights.Rules) -> int:
    """How many contacts of the account match the filters (every page of `contacts`)."""
    where = _where(account_id, args, rules, utcnow(), store_ids(conn, account_id))
    return int(conn.scalar(select(func.count()).select_from(Contact).where(*where)) or 0)


def matching(conn: Connection, account_id: int, args: Any, rules: insights.Rules) -> list[Any]:
    """The filters of the contact list as SQL conditions (for a list sorted and paged elsewhere)."""
    return _where(account_id, args, rules, utcnow(), store_ids(conn, account_id))


def summaries(
    conn: Connection, ids: list[int], stores: list[int], rules: insights.Rules
) -> dict[int, dict[str, Any]]:
    """Each contact's summary of their insights in these stores (none: an empty one)."""
    found = _summaries(conn, ids, stores, rules, utcnow())
    return {i: found.get(i, _no_summary()) for i in ids}


def _where(account_id: int, args: Any, rules: insights.Rules, now: datetime, stores: list[int]) -> list[Any]:
    return [
        Contact.account_id == account_id,
        Contact.merged_into_id.is_(None),
        *_search(args),
        *_insight_filters(args, rules, now, stores),
        *_order_filters(args, stores),
    ]


def _search(args: Any) -> list[Any]:
    """`q`: a part of the email or full name, or of the phone when it looks like one."""
    query = (args.get("q") or "").strip()
    if not query:
        return []
    like = f"%{query.lower()}%"
    full_name = func.coalesce(Contact.first_name, "") + " " + func.coalesce(Contact.last_name, "")
    matches = [Contact.email_normalized.like(like), func.lower(full_name).like(like)]
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4 and not set(query) - set("0123456789+-() ."):  # it looks like a phone
        matches.append(Contact.phone_e164.like(f"%{digits}%"))
    return [or_(*matches)]


def _insight_filters(args: Any, rules: insights.Rules, now: datetime, stores: list[int]) -> list[Any]:
    """`segment`, `advocate`, `inactive`: what the contact's insights in the account's stores say."""
    ci = ContactInsight
    where: list[Any] = []
    mine = and_(ci.contact_id == Contact.id, ci.store_id.in_(stores))
    segment = args.get("segment")
    if segment:
        if segment not in {name for name, _rule in insights.SEGMENTS}:
            raise BadInput(f"segment: one of {', '.join(n for n, _r in insights.SEGMENTS)}")
        where.append(exists().where(mine, ci.segment == segment))
    advocate, inactive = flag(args, "advocate"), flag(args, "inactive")
    if advocate is not None:
        test = exists().where(mine, ci.advocate_since >= rules.advocate_after(now))
        where.append(test if advocate else ~test)
    if inactive is not None:
        recent = exists().where(mine, ci.last_order_at >= rules.inactive_before(now))
        bought = exists().where(mine)
        where.append((bought & ~recent) if inactive else recent)
    return where


def _order_filters(args: Any, stores: list[int]) -> list[Any]:
    """`channel`: ordered through it in the account's stores; `subscribed`: to a product alert."""
    where: list[Any] = []
    channel = args.get("channel")
    if channel:
        where.append(
            exists().where(
                Order.contact_id == Contact.id, Order.store_id.in_(stores), Order.channel == channel
            )
        )
    across = flag(args, "across_stores")
    if across is not None:
        crossing = Contact.id.in_(_across_stores(stores))
        where.append(crossing if across else ~crossing)
    subscribed = flag(args, "subscribed")
    if subscribed is not None:
        test = exists().where(
            ProductSubscription.contact_id == Contact.id,
            ProductSubscription.confirmed_at.is_not(None),
            ProductSubscription.unsubscribed_at.is_(None),
        )
        where.append(test if subscribed else ~test)
    return where


def _across_stores(stores: list[int]) -> Any:
    """Contacts holding a live customer record or order in two of the account's stores or more:
    one person across stores, the promise a merchant with several stores looks for."""
    held = union(
        select(Customer.contact_id, Customer.store_id).where(
            Customer.store_id.in_(stores), Customer.deleted_at.is_(None)
        ),
        select(Order.contact_id, Order.store_id).where(
            Order.store_id.in_(stores), Order.deleted_at.is_(None)
        ),
    ).subquery()
    return (
        select(held.c.contact_id)
        .where(held.c.contact_id.is_not(None))
        .group_by(held.c.contact_id)
        .having(func.count(held.c.store_id.distinct()) >= 2)
    )


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run (OWASP CSV injection): text beginning with =, +, -,
    @, tab or carriage return is prefixed with a single quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def contacts_csv(conn: Connection, account_id: int, args: Any, rules: insights.Rules) -> str:
    """The whole filtered contact list (every page) as CSV; paging parameters are checked
    like any other, though every page is exported."""
    Page.of(args)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    page: Page | None = Page(MAX_LIMIT)
    while page is not None:
        items, cursor = contacts(conn, account_id, args, rules, page)
        for item in items:
            spend = "; ".join(f"{amount} {currency}" for currency, amount in item["spend"].items())
            writer.writerow({k: csv_cell(v) for k, v in {**item, "spend": spend}.items()})
        page = Page(MAX_LIMIT, decode_cursor(cursor)) if cursor else None
    return out.getvalue()


def csv_answer(text: str) -> Response:
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="contacts.csv"'}
    )


def _no_summary() -> dict[str, Any]:
    return {
        "orders": 0,
        "spend": {},
        "segment": None,  # in the store where they spent most
        "segments": [],  # in every store they bought from
        "advocate": False,
        "inactive": False,
        "last_order_at": None,
    }


def _summaries(
    conn: Connection, ids: list[int], stores: list[int], rules: insights.Rules, now: datetime
) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if not ids:
        return out
    for r in conn.execute(
        select(ContactInsight)
        .where(ContactInsight.contact_id.in_(ids), ContactInsight.store_id.in_(stores))
        .order_by(ContactInsight.spend.desc())
    ):
        entry = out.setdefault(r.contact_id, _no_summary())
        entry["orders"] += r.orders
        currency = r.currency or "?"
        entry["spend"][currency] = entry["spend"].get(currency, Decimal(0)) + r.spend
        entry["segment"] = entry["segment"] or r.segment
        if r.segment and r.segment not in entry["segments"]:
            entry["segments"].append(r.segment)
        entry["advocate"] |= insights.flags(r, rules, now)["advocate"]
        entry["last_order_at"] = max(filter(None, (entry["last_order_at"], r.last_order_at)), default=None)
    for entry in out.values():
        last = entry["last_order_at"]
        entry["inactive"] = last is not None and last < rules.inactive_before(now)
    return {contact: plain(entry) for contact, entry in out.items()}
