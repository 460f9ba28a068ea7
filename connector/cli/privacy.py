"""`crm-connector privacy export|forget --email E`: GDPR/CCPA requests for any platform,
made by the merchant (a WooCommerce shopper writes to the shop; there is no topic).
The request reaches the person in every merchant account that holds the address
(or only `--account`), and prints the receipt and, for an export, the file written.
`forget --account` for an address not held yet suppresses it there before it arrives."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.engine import Connection

from connector.context import settings_of
from connector.crm import privacy
from connector.db import get_engine
from connector.db.models import Account, Contact
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
        if account and conn.execute(select(Account.id).where(Account.name == account)).first() is None:
            raise click.UsageError(f"--account: no merchant account named {account!r}")
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
    if not receipts and erase and account:
        suppressed = _suppress_unseen(app, email, account)
        message = "nothing is held on this address; it is suppressed in the account from now on"
        click.echo(json.dumps({"found": False, "message": message, "receipts": [suppressed]}, default=str))
        return
    if not receipts:
        hint = " (with --account, forget suppresses it there before it arrives)" if erase else ""
        click.echo(json.dumps({"found": False, "message": f"nothing is held on this address{hint}"}))
        return
    click.echo(json.dumps({"found": True, "receipts": results}, default=str))


def _suppress_unseen(app: Flask, email: str, account: str) -> dict[str, Any]:
    """An erasure asked before the person's records arrived: the address is suppressed in the
    account, so no sync or webhook stores them later."""
    with get_engine(app).begin() as conn:
        account_id = conn.execute(select(Account.id).where(Account.name == account)).scalar()
        if account_id is None:
            raise click.UsageError(f"--account: no merchant account named {account!r}")
        subject = {"account_id": account_id, "contacts": []}
        receipt = privacy.forget(
            conn,
            account_id,
            set(),
            settings_of(app).instance_path,
            store_id=None,
            subject=subject,
            needles=[email],
        )
        return privacy.receipt_of(conn, receipt)


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
