"""`crm-connector destinations add-salesforce` and `reconnect-salesforce`: connect a Salesforce
org to an account by a connected app's client-credentials grant (the org signs the app in and
answers before anything is saved: refused or unreachable, exit 2 and nothing is saved), and give
a destination that needs reconnecting its app's new credentials, its marks kept.
"""

from __future__ import annotations

import click

import destinations as kinds
from connector import db
from connector.accounts import destinations, stores
from connector.cli.support import app_context, ready, the_app
from connector.context import vault_of
from connector.errors import BadInput


@click.command("add-salesforce")
@click.option("--account", required=True, help="the merchant account whose contacts and orders go there")
@click.option(
    "--instance-url", required=True, help="the org's My Domain address, https://NAME.my.salesforce.com"
)
@click.option("--client-id", required=True, help="the connected app's consumer key")
@click.option("--client-secret", required=True, help="the connected app's consumer secret")
def add_salesforce(account: str, instance_url: str, client_id: str, client_secret: str) -> None:
    """Connect a Salesforce org with a connected app's client credentials."""
    name = account.strip()
    if not name:
        raise BadInput("--account: name the merchant account (`stores list` shows each store's)")
    given = {"instance_url": instance_url, "client_id": client_id, "client_secret": client_secret}
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            stores.existing_account(s, name)  # a typo is refused before Salesforce is asked
        credentials = kinds.get("salesforce").check(given, None)
        with db.session(app) as s, s.begin():
            dest = destinations.add(
                s, vault_of(app), account=name, kind="salesforce", credentials=credentials
            )
            dest_id = dest.id
    click.echo(
        f"destination {dest_id} connected: salesforce at {credentials['instance_url']} (account {name!r})"
    )


@click.command("reconnect-salesforce")
@click.argument("destination")
@click.option("--client-secret", required=True, help="the connected app's consumer secret (new or the same)")
@click.option(
    "--client-id", default=None, help="the consumer key, if the app changed (default: the one kept)"
)
@click.option("--instance-url", default=None, help="the org's My Domain address, if it changed")
def reconnect_salesforce(
    destination: str, client_secret: str, client_id: str | None, instance_url: str | None
) -> None:
    """Give a destination that needs reconnecting its app's credentials (checked first); marks kept."""
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            dest = destinations.find(s, destination)
            if dest.kind != "salesforce":
                raise BadInput(f"destination {destination} is {dest.kind}, not salesforce")
            kept = vault_of(app).open(dest.credentials)
        given = {
            "instance_url": instance_url or kept["instance_url"],
            "client_id": client_id or kept["client_id"],
            "client_secret": client_secret,
        }
        credentials = kinds.get("salesforce").check(given, None)
        with db.session(app) as s, s.begin():
            destinations.reconnect(s, vault_of(app), destinations.find(s, destination), credentials)
    click.echo(f"destination {destination} reconnected; `destinations push {destination}` sends what waited")


COMMANDS = {c.name or "": c for c in (add_salesforce, reconnect_salesforce)}
