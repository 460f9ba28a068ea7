"""The demo's Magento store: connected into the demo's merchant account with its integration
token (checked against the store by the platform, as `stores add-magento` does), and the
summary's line on the contacts who hold records on every platform of the account."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

import platforms
from connector import db
from connector.accounts import profiles
from connector.accounts.stores import connect_store
from connector.db.models import Account, Contact, Customer, Store


def connect_magento(app: Flask, entry: dict[str, Any], account_id: int) -> None:
    """The Magento store joins the account as its owner connects it by hand."""
    connection = platforms.get("magento").connect_by_hand(
        {"url": entry["url"], "token": entry["access_token"]}
    )
    with app.app_context(), db.session(app) as s, s.begin():
        store = connect_store(
            s,
            app.extensions["crm.vault"],
            account=s.get_one(Account, account_id),
            platform="magento",
            domain=connection.domain,
            credentials=connection.credentials,
        )
        profiles.refresh(app.extensions["crm.settings"], app.extensions["crm.vault"], store)


def on_every_platform(app: Flask, account_id: int) -> list[str]:
    """How many contacts hold records on every platform of the account (when it has all
    three), and one of them by name with the dashboard page that shows it."""
    with db.session(app) as s:
        kinds = s.scalar(
            select(func.count(func.distinct(Store.platform))).where(Store.account_id == account_id)
        )
        spanning = (
            select(Customer.contact_id)
            .join(Store, Store.id == Customer.store_id)
            .where(Store.account_id == account_id, Customer.deleted_at.is_(None))
            .group_by(Customer.contact_id)
            .having(func.count(func.distinct(Store.platform)) == kinds)
        )
        ids = sorted(c for c in s.scalars(spanning) if c is not None)
        one = s.get(Contact, ids[0]) if ids else None
    if kinds is None or kinds < 3:
        return []
    line = f"  contacts on all {kinds} platforms (Shopify, WooCommerce and Magento): {len(ids):,}"
    if one is None:
        return [line]
    name = " ".join(p for p in (one.first_name, one.last_name) if p) or one.email or "(no name)"
    shown = "".join(ch for ch in name[:60] if ch.isprintable())
    return [line, f"    e.g. {shown}: /contacts/{one.id} on the dashboard"]
