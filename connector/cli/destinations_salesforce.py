"""`crm-connector destinations add-salesforce` and `reconnect-salesforce`: connect a Salesforce
org to an account by a connected app's client-credentials grant (the org signs the app in and
answers before anything is saved: refused or unreachable, exit 2 and nothing is saved), and give
a destination that needs reconnecting its app's new credentials, its marks kept.
"""

from __future__ import annotations

from typing import Any

import click

from connector.cli.destinations import connect, reconnect


@click.command("add-salesforce")
@click.option("--account", required=True, help="the merchant account whose contacts and orders go there")
@click.option(
    "--instance-url", required=True, help="the org's My Domain address, https://NAME.my.salesforce.com"
)
@click.option("--client-id", required=True, help="the connected app's consumer key")
@click.option("--client-secret", required=True, help="the connected app's consumer secret")
def add_salesforce(account: str, instance_url: str, client_id: str, client_secret: str) -> None:
    """Connect a Salesforce org with a connected app's client credentials."""
    given = {"instance_url": instance_url, "client_id": client_id, "client_secret": client_secret}
    connect(account, "salesforce", lambda: given, shown="instance_url")


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

    def given(kept: dict[str, Any]) -> dict[str, Any]:
        return {
            "instance_url": instance_url or kept["instance_url"],
            "client_id": client_id or kept["client_id"],
            "client_secret": client_secret,
        }

    reconnect(destination, "salesforce", given)


COMMANDS = {c.name or "": c for c in (add_salesforce, reconnect_salesforce)}
