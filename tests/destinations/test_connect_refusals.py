"""The dashboard's Connect refused, each with a sentence and nothing saved: consent denied at the
CRM, a callback whose state is missing, spent, expired or another session's, a code issued for
another client, a code bound to another PKCE challenge, a grant whose token the check refuses, a
CRM whose app is not configured (the page points at the CLI), and an address from the CRM that
is not https or not the CRM's own."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

from sandbox.server import SandboxServer
from tests.destinations.consent_flow import (
    back,
    connect,
    crm_env,
    csrf,
    dashboard,
    decide,
    destinations_of,
    signed_in,
    start,
)
from tests.destinations.helpers import faults
from tests.destinations.salesforce_rig import the_org
from tests.rig import Rig

NOTHING = "Nothing was saved."


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_consent_denied_at_the_crm_saves_nothing(rig: Rig) -> None:
    app = dashboard(rig, **crm_env(rig))
    client = signed_in(app, rig)
    # given the merchant denies Zoho's consent page, then the dashboard says so
    denied = decide(start(client, "zoho"), "deny")
    assert "error=access_denied" in denied.headers["Location"]
    status, page = back(client, denied.headers["Location"])
    assert status == 303 and f"Zoho CRM was not connected: the access was declined there. {NOTHING}" in page
    # given HubSpot's page denied, then HubSpot sends nothing back (as its docs say)
    assert "Location" not in decide(start(client, "hubspot"), "deny").headers
    assert destinations_of(app) == []


def test_a_callback_without_a_live_state_of_this_session_is_400(rig: Rig) -> None:
    app = dashboard(rig, **crm_env(rig))
    client = signed_in(app, rig)
    # given no state, or one never issued
    for query in ("code=x", "code=x&state=forged"):
        answer = client.get(f"/destinations/oauth/hubspot/callback?{query}")
        assert answer.status_code == 400 and "was not started from this dashboard" in answer.get_data(
            as_text=True
        )
    # given a callback replayed after it connected, then 400 and still one destination
    trip = connect(client, "hubspot")
    assert trip.callback is not None and len(destinations_of(app)) == 1
    assert back(client, trip.callback)[0] == 400
    # given a state that expired before the merchant came back
    authorize = start(client, "hubspot")
    approved = decide(authorize, "approve").headers["Location"]
    rig.redis.pexpire(f"crm:oauth-state:crm:{state_of(authorize)}", 1)
    time.sleep(0.01)
    status, page = back(client, approved)
    assert status == 400 and "expired" in page
    # given another signed-in session of the same account presents this browser's callback
    authorize = start(client, "hubspot")
    approved = decide(authorize, "approve").headers["Location"]
    other = signed_in(app, rig, "colleague@shop.example")
    status, page = back(other, approved)
    assert status == 400 and "started in another session" in page
    # then the state is spent: this browser cannot use it either, and nothing more was saved
    assert back(client, approved)[0] == 400
    assert len(destinations_of(app)) == 1


def test_a_code_for_another_client_or_another_pkce_challenge_is_refused(
    rig: Rig, org_server: SandboxServer
) -> None:
    app = dashboard(rig, **crm_env(rig, org_server))
    client = signed_in(app, rig)
    # given a code HubSpot issued to another app, then HubSpot's refusal in words
    approved = decide(start(client, "hubspot"), "approve").headers["Location"]
    code = parse_qs(urlsplit(approved).query)["code"][0]
    rig.sandbox.world.hubspot.oauth.codes[code]["client_id"] = "another-app"
    status, page = back(client, approved)
    assert status == 303 and "HubSpot was not connected: the grant was refused (BAD_AUTH_CODE" in page
    # given a code Salesforce bound to another PKCE challenge (an interceptor's), then refused
    intercepted = decide(start(client, "salesforce"), "approve", code_challenge="A" * 43)
    status, page = back(client, intercepted.headers["Location"])
    assert (
        "Salesforce was not connected: the grant was refused (invalid_request: invalid code verifier)" in page
    )
    assert destinations_of(app) == []


def test_a_grant_whose_token_the_check_refuses_saves_nothing(rig: Rig) -> None:
    app = dashboard(rig, **crm_env(rig))
    client = signed_in(app, rig)
    # given HubSpot refuses the new token (and the renewed one) when the check asks the portal
    authorize = start(client, "hubspot")
    approved = decide(authorize, "approve").headers["Location"]
    faults(rig, statuses=[401, 401])
    status, page = back(client, approved)
    assert status == 303 and "HubSpot was not connected: HubSpot did not accept the grant" in page
    assert destinations_of(app) == []


def test_an_unconfigured_crm_points_at_the_cli(rig: Rig) -> None:
    # given Salesforce's app not configured (HubSpot's and Zoho's are)
    app = dashboard(rig, **crm_env(rig))
    client = signed_in(app, rig)
    page = client.get("/destinations").get_data(as_text=True)
    # then the page offers HubSpot and Zoho, and for Salesforce names the CLI
    assert "Connect HubSpot" in page and "Connect Zoho CRM" in page and "Connect Salesforce" not in page
    assert "crm-connector destinations add-salesforce" in page
    # and a POST anyway says so; one without the CSRF token is refused
    assert client.post("/destinations/connect/salesforce").status_code == 400
    answer = client.post(
        "/destinations/connect/salesforce",
        data={"csrf_token": csrf(client, "/destinations")},
        follow_redirects=True,
    )
    assert "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET are not configured" in answer.get_data(
        as_text=True
    )
    assert destinations_of(app) == []


def test_addresses_from_the_crm_must_be_https_and_its_own(rig: Rig, org_server: SandboxServer) -> None:
    app = dashboard(rig, **crm_env(rig, org_server))
    client = signed_in(app, rig)
    # given Salesforce's token answer names an instance URL over plain http
    the_org(org_server).answered_instance_url = "http://127.0.0.1:9"
    status, page = back(client, decide(start(client, "salesforce"), "approve").headers["Location"])
    assert status == 303
    assert "the CRM answered the instance URL &#39;http://127.0.0.1:9&#39;, which is not https" in page
    # given a Zoho callback naming an accounts server that is not Zoho's
    approved = decide(start(client, "zoho"), "approve").headers["Location"]
    parts = urlsplit(approved)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {
        "accounts-server": "https://accounts.evil.example"
    }
    status, page = back(client, f"{parts.path}?{urlencode(query)}")
    assert status == 303
    assert "which is not one of Zoho&#39;s accounts servers" in page
    assert destinations_of(app) == []
