"""`crm-connector destinations add-zoho | reconnect-zoho`: connect Zoho CRM to an account with a
self-client's refresh token at the org's data-centre accounts server (the grant and the API
tried first: refused, nothing is saved), or give a destination that needs reconnecting a new
refresh token. The rest of `destinations …` (list, push, check, remove) is kind-neutral.
"""

from __future__ import annotations

import click

import destinations as kinds
from connector import db
from connector.accounts import destinations, stores
from connector.cli.support import app_context, ready, the_app
from connector.context import vault_of
from connector.errors import BadInput
from destinations.zoho.connect import ACCOUNTS


def _accounts(accounts_url: str | None, data_center: str | None) -> str:
    if (accounts_url is None) == (data_center is None):
        raise BadInput(
            "give one of --accounts-url (e.g. https://accounts.zoho.eu) or --data-center "
            f"({', '.join(ACCOUNTS)}): where the org's Zoho account lives"
        )
    return accounts_url if accounts_url is not None else ACCOUNTS[str(data_center)]


@click.command("add-zoho")
@click.option("--account", required=True, help="the merchant account whose contacts and orders go there")
@click.option("--accounts-url", default=None, help="the org's accounts server, e.g. https://accounts.zoho.eu")
@click.option(
    "--data-center", type=click.Choice(sorted(ACCOUNTS)), default=None, help="instead of --accounts-url"
)
@click.option("--client-id", required=True, help="the self-client's client id (api-console.zoho.<dc>)")
@click.option("--client-secret", required=True, help="the self-client's client secret")
@click.option("--refresh-token", required=True, help="a refresh token granted to the self-client (1000.…)")
def add_zoho(
    account: str,
    accounts_url: str | None,
    data_center: str | None,
    client_id: str,
    client_secret: str,
    refresh_token: str,
) -> None:
    """Connect Zoho CRM (scopes: ZohoCRM.modules.ALL, ZohoCRM.settings.fields.ALL)."""
    if not account.strip():
        raise BadInput("--account: name the merchant account (`stores list` shows each store's)")
    url = _accounts(accounts_url, data_center)
    grant = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            stores.existing_account(s, account.strip())  # a typo is refused before Zoho is asked
        credentials = kinds.get("zoho").check(grant | {"accounts_url": url}, None)
        with db.session(app) as s, s.begin():
            dest = destinations.add(
                s, vault_of(app), account=account.strip(), kind="zoho", credentials=credentials
            )
            dest_id = dest.id
    click.echo(
        f"destination {dest_id} connected: zoho at {credentials['api_domain']} (account {account.strip()!r})"
    )


@click.command("reconnect-zoho")
@click.argument("destination")
@click.option("--refresh-token", required=True, help="the self-client's new refresh token")
def reconnect_zoho(destination: str, refresh_token: str) -> None:
    """Give a Zoho destination that needs reconnecting a new refresh token (checked first)."""
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            dest = destinations.find(s, destination)
            if dest.kind != "zoho":
                raise BadInput(f"destination {destination} is {dest.kind}, not zoho")
            kept = vault_of(app).open(dest.credentials)
        credentials = kinds.get("zoho").check(kept | {"refresh_token": refresh_token}, None)
        with db.session(app) as s, s.begin():
            destinations.reconnect(s, vault_of(app), destinations.find(s, destination), credentials)
    click.echo(f"destination {destination} reconnected; `destinations push {destination}` sends what waited")


COMMANDS = {c.name or "": c for c in (add_zoho, reconnect_zoho)}
