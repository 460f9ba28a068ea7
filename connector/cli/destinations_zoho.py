"""`crm-connector destinations add-zoho | reconnect-zoho`: connect Zoho CRM to an account with a
self-client's refresh token at the org's data-centre accounts server (the grant and the API
tried first: refused, nothing is saved), or give a destination that needs reconnecting a new
refresh token. The rest of `destinations …` (list, push, check, remove) is kind-neutral.
"""

from __future__ import annotations

import click

from connector.cli.destinations import connect, reconnect
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
    """Connect Zoho CRM (scopes: ZohoCRM.modules.ALL, ZohoCRM.settings.fields.ALL,
    ZohoSearch.securesearch.READ, ZohoCRM.coql.READ)."""
    grant = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
    connect(
        account,
        "zoho",
        lambda: grant | {"accounts_url": _accounts(accounts_url, data_center)},
        shown="api_domain",
    )


@click.command("reconnect-zoho")
@click.argument("destination")
@click.option("--refresh-token", required=True, help="the self-client's new refresh token")
def reconnect_zoho(destination: str, refresh_token: str) -> None:
    """Give a Zoho destination that needs reconnecting a new refresh token (checked first)."""
    reconnect(destination, "zoho", lambda kept: kept | {"refresh_token": refresh_token})


COMMANDS = {c.name or "": c for c in (add_zoho, reconnect_zoho)}
