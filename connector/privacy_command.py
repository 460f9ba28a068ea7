"""`crm-connector privacy export|forget --email E`: GDPR/CCPA requests for any platform,
made by the merchant (a WooCommerce shopper writes to the shop; there is no topic).
The request reaches the person in every merchant account that holds the address
(or only `--account`), and prints the receipt and, for an export, the file written."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.engine import Connection

from connector import privacy, settings_of
from connector.db import get_engine
from connector.models import Account, Contact
from platforms.base import normalize_email


@click.group("privacy")
def privacy_group() -> None:
    """GDPR/CCPA: export or erase everything held on a person."""


def _accounts(conn: Connection, email: str, account: str | None) -> list[int]:
    query = select(Contact.account_id).where(Contact.email_normalized == normalize_email(email)).distinct()
    if account:
        query = query.join(Account, Account.id == Contact.account_id).where(Account.name == account)
    return sorted(conn.execute(query).scalars())


def _run(email: str, account: str | None, erase: bool) -> None:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not normalize_email(email) or "@" not in email:
        raise click.UsageError("--email: give the person's e-mail address")
    instance = settings_of(app).instance_path
    receipts = []
    with get_engine(app).begin() as conn:
        for account_id in _accounts(conn, email, account):
            contacts = privacy.people(conn, account_id, email=email)
            subject = {"account_id": account_id, "contacts": sorted(contacts)}
            if erase:
                receipt = privacy.forget(
                    conn, account_id, contacts, instance, store_id=None, subject=subject, needles=[email]
                )
            else:
                receipt = privacy.export(conn, contacts, instance / "exports", store_id=None, subject=subject)
            receipts.append(receipt)
        results = [privacy.receipt_of(conn, r) for r in receipts]
    if not receipts:
        click.echo(json.dumps({"found": False, "message": "nothing is held on this address"}))
        return
    click.echo(json.dumps({"found": True, "receipts": results}, default=str))


@privacy_group.command("export")
@click.option("--email", required=True)
@click.option("--account", help="only this merchant account (by name)")
@with_appcontext
def export_command(email: str, account: str | None) -> None:
    """Write a JSON file of everything held on the person; print its receipt."""
    _run(email, account, erase=False)


@privacy_group.command("forget")
@click.option("--email", required=True)
@click.option("--account", help="only this merchant account (by name)")
@with_appcontext
def forget_command(email: str, account: str | None) -> None:
    """Erase the person everywhere; print the receipt."""
    _run(email, account, erase=True)
