"""The dashboard's Connect for each CRM, through the sandbox's consent pages: approved, it ends
with an active destination whose push fills the sandbox's CRM; a HubSpot access token that lapses
is renewed by its refresh token (the new one kept sealed), a refused refresh is "needs reconnect",
and Reconnect from the page makes it active again. The CRM's values are escaped where shown."""

from __future__ import annotations

import requests
from flask import Flask
from sqlalchemy import select

from connector.db import get_engine
from connector.db.operations import Destination
from sandbox.server import SandboxServer
from tests.destinations import zoho_helpers
from tests.destinations.consent_flow import (
    back,
    connect,
    crm_env,
    dashboard,
    decide,
    destinations_of,
    signed_in,
    start,
)
from tests.destinations.helpers import faults, held, live_views, push_until_done, pushed, sync_everything
from tests.destinations.salesforce_rig import held as salesforce_held
from tests.rig import Rig


def sealed(app: Flask, dest_id: int) -> dict[str, object]:
    with get_engine(app).connect() as conn:
        blob = conn.execute(select(Destination.credentials).where(Destination.id == dest_id)).scalar_one()
    opened: dict[str, object] = app.extensions["crm.vault"].open(blob)
    return opened


def test_hubspot_connects_pushes_renews_and_reconnects(rig: Rig) -> None:
    # given the connector's HubSpot app configured, and a signed-in merchant whose portal is
    # named with markup
    faults(rig, hub_domain="<b>shop</b>.hubspot.com")
    app = dashboard(rig, **crm_env(rig))
    client = signed_in(app, rig)
    # when the merchant connects HubSpot and approves the access on HubSpot's page
    trip = connect(client, "hubspot")
    # then one active destination holds the grant sealed, and the page names the portal escaped
    assert trip.status == 303, trip.page[:500]
    assert "HubSpot connected as destination" in trip.page
    assert "&lt;b&gt;shop&lt;/b&gt;.hubspot.com" in trip.page and "<b>shop</b>" not in trip.page
    [dest] = destinations_of(app)
    assert (dest.kind, dest.status) == ("hubspot", "active")
    kept = sealed(app, dest.id)
    assert kept["refresh_token"] and kept["portal_id"] == rig.sandbox.world.hubspot.portal_id
    # and its push fills the sandbox's portal with every contact of the account
    pushed(rig, dest.id)
    assert set(held(rig, "contacts")) == {str(i) for i in live_views(rig)[0]}
    # given every access token lapsed, when the next change is pushed, then a new access token
    # is asked for and kept sealed, and the push goes through
    faults(rig, expire_access=True)
    rig.mutate("shopify", "customers", "update", 3)
    before = kept["token"]
    pushed(rig, dest.id)
    assert sealed(app, dest.id)["token"] != before
    # given the app uninstalled from the portal (no refresh works), then the push says reconnect
    faults(rig, expire_access=True, revoke_refresh=True)
    rig.mutate("shopify", "customers", "update", 3)
    sync_everything(rig)
    assert push_until_done(rig.app, dest.id)[-1].outcome == "needs_reconnect"
    page = client.get("/destinations").get_data(as_text=True)
    assert "needs reconnect" in page and f"/destinations/{dest.id}/reconnect" in page
    # when the merchant reconnects from the page, then the same destination is active again
    authorize = start(client, "hubspot", dest.id)
    status, page = back(client, decide(authorize, "approve").headers["Location"])
    assert status == 303 and f"HubSpot connected as destination {dest.id}" in page
    assert [(d.id, d.status) for d in destinations_of(app)] == [(dest.id, "active")]
    assert push_until_done(rig.app, dest.id)[-1].outcome == "done"
    # and every token call went to HubSpot's dated OAuth API, none to v1 (it ends 2027-02-16)
    asked = rig.sandbox.world.hubspot.oauth.asked
    assert {"/hubspot/oauth/2026-03/token", "/hubspot/oauth/2026-03/token/introspect"} <= set(asked)
    assert not [path for path in asked if "/oauth/v1/" in path]


def test_salesforce_connects_with_pkce_and_its_push_fills_the_org(
    rig: Rig, org_server: SandboxServer
) -> None:
    # given the connector's connected app in the org (over https) and a signed-in merchant
    app = dashboard(rig, **crm_env(rig, org_server))
    client = signed_in(app, rig)
    # when the merchant connects Salesforce and approves
    authorize = start(client, "salesforce")
    # then the authorization request carries a PKCE challenge (S256) and asks for a refresh token
    assert "code_challenge_method=S256" in authorize and "refresh_token" in authorize
    status, page = back(client, decide(authorize, "approve").headers["Location"])
    assert status == 303 and "Salesforce connected as destination" in page, page[:500]
    [dest] = destinations_of(app)
    assert dest.status == "active" and sealed(app, dest.id)["refresh_token"]
    # and its push (signed in by the refresh token) fills the org with every contact
    pushed(rig, dest.id)
    contacts = salesforce_held(org_server, "Contact", "Connector_Contact_Id__c")
    assert set(contacts) == {str(i) for i in live_views(rig)[0]}


def test_zoho_connects_at_the_users_data_centre_and_its_push_fills_the_org(rig: Rig) -> None:
    # given the connector's Zoho client configured and a signed-in merchant
    app = dashboard(rig, **crm_env(rig))
    client = signed_in(app, rig)
    # when the merchant connects Zoho CRM and approves (offline access, consent asked again)
    authorize = start(client, "zoho")
    assert "access_type=offline" in authorize and "prompt=consent" in authorize
    answer = decide(authorize, "approve")
    assert "accounts-server=" in answer.headers["Location"] and "location=us" in answer.headers["Location"]
    status, page = back(client, answer.headers["Location"])
    # then an active destination whose push fills the org
    assert status == 303 and "Zoho CRM connected as destination" in page, page[:500]
    [dest] = destinations_of(app)
    pushed(rig, dest.id)
    zoho_helpers.assert_zoho_matches(rig)


def test_hubspots_own_client_redeems_a_code_the_sandbox_issued(rig: Rig) -> None:
    # given a code HubSpot's install page issued for the connector's app
    app_keys = rig.sandbox.world.manifest()["hubspot"]["oauth_app"]
    query = {"client_id": app_keys["client_id"], "redirect_uri": "https://crm.example/cb", "scope": "oauth"}
    authorize = rig.sandbox.url + "/hubspot/oauth/authorize?" + "&".join(f"{k}={v}" for k, v in query.items())
    code = decide(authorize, "approve").headers["Location"].split("code=")[1].split("&")[0]
    # when hubspot-api-client's tokens API redeems it at the sandbox
    from hubspot import HubSpot

    api = HubSpot(host=rig.sandbox.url + "/hubspot", retry=None)
    tokens = api.oauth.tokens_api.create(
        grant_type="authorization_code",
        code=code,
        redirect_uri="https://crm.example/cb",
        client_id=app_keys["client_id"],
        client_secret=app_keys["client_secret"],
    )
    # then it reads HubSpot's answer, and the access token opens the portal's API
    assert tokens.refresh_token and tokens.expires_in == 1800
    details = requests.get(
        rig.sandbox.url + "/hubspot/account-info/v3/details",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=10,
    )
    assert details.json()["portalId"] == rig.sandbox.world.hubspot.portal_id
