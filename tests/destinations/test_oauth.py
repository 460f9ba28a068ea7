"""destinations/oauth.py's one token request against the sandbox's Salesforce and Zoho token
endpoints: a grant answered, a refusal as Reauthorize whether it comes as Salesforce's 400 or
Zoho's 200 with an `error`, an address that is not a token endpoint as FailPermanently, and
nothing listening as RetryLater."""

from __future__ import annotations

import socket

import pytest
import requests

from connector.errors import FailPermanently, Reauthorize, RetryLater
from destinations.oauth import token_grant
from sandbox.server import SandboxServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_each_answer_is_named_by_what_the_caller_does_next(sandbox: SandboxServer) -> None:
    http = requests.Session()
    sf, zoho = sandbox.world.manifest()["salesforce"], sandbox.world.manifest()["zoho"]
    salesforce = sf["instance_url"] + "/services/oauth2/token"
    grant = {"grant_type": "client_credentials", "client_id": sf["client_id"]}
    # given the app's own credentials, then an access token and the org's address
    answer = token_grant(http, salesforce, grant | {"client_secret": sf["client_secret"]})
    assert answer["access_token"] and answer["instance_url"] == sf["instance_url"]
    # given a wrong secret (Salesforce: 400), or a wrong refresh token (Zoho: 200), then Reauthorize
    with pytest.raises(Reauthorize) as refused:
        token_grant(http, salesforce, grant | {"client_secret": "wrong"})
    assert refused.value.detail == "invalid_client" and "invalid client credentials" in refused.value.reason
    zoho_form = {
        "grant_type": "refresh_token",
        "client_id": zoho["client_id"],
        "client_secret": zoho["client_secret"],
    }
    with pytest.raises(Reauthorize):
        token_grant(http, zoho["accounts_url"] + "/oauth/v2/token", zoho_form | {"refresh_token": "1000.x.y"})
    assert token_grant(
        http, zoho["accounts_url"] + "/oauth/v2/token", zoho_form | {"refresh_token": zoho["refresh_token"]}
    )
    # given an address that answers but is no token endpoint, or one where nothing listens
    with pytest.raises(FailPermanently):
        token_grant(http, sandbox.url + "/nowhere/oauth2/token", grant)
    with pytest.raises(RetryLater):
        token_grant(http, f"http://127.0.0.1:{free_port()}/services/oauth2/token", grant)
