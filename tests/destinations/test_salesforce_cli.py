"""`crm-connector destinations add-salesforce` and `reconnect-salesforce` through the console
script: the org is asked before anything is saved (a refused secret, an address that is not an
org, one that does not answer, plain http, an unknown account: exit 2 with a sentence, nothing
saved), a good app connected and pushed, and a revoked app reconnected with its new secret."""

from __future__ import annotations

import socket

import pytest

from sandbox.server import SandboxServer
from tests.destinations.cli_helpers import assert_refused, run
from tests.destinations.helpers import sync_everything
from tests.destinations.salesforce_rig import app_credentials, held, the_org
from tests.rig import Rig
from tests.sandbox.crm_rig import control
from tests.test_stores_cli import main


def add(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **given: str
) -> tuple[int, str, str]:
    """add-salesforce with these options (the org's CA is trusted by the `org_server` fixture)."""
    return run(rig, monkeypatch, capsys, "add-salesforce", **given)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_add_salesforce_asks_the_org_first_and_reconnect_takes_a_new_secret(
    rig: Rig, org_server: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = app_credentials(org_server) | {"account": "test"}
    refused = [
        ({"client_secret": "wrong"}, "did not accept the app"),
        ({"instance_url": f"https://127.0.0.1:{free_port()}"}, "could not be asked"),
        ({"instance_url": rig.sandbox.url.replace("http://", "https://")}, "could not be asked"),
        ({"instance_url": org_server.url.replace("https://", "http://")}, "My Domain address over https"),
        ({"instance_url": org_server.url + "/services"}, "My Domain address over https"),
        ({"account": "tset"}, "no account named 'tset'"),
        ({"client_id": "two words"}, "--client-id"),
    ]
    for change, words in refused:
        # given bad credentials, when add-salesforce runs, then exit 2, a sentence, and nothing saved
        assert_refused(rig, add(rig, monkeypatch, capsys, **(good | change)), words, change)
    # given the app's own credentials, then connected
    status, out, _err = add(rig, monkeypatch, capsys, **good)
    assert status == 0 and out.startswith("destination 1 connected: salesforce")
    sync_everything(rig)
    env = rig.env
    status, out, _err = main(env, monkeypatch, capsys, "destinations", "push", "1")
    assert status == 0 and "destination 1: pushed contacts" in out
    assert main(env, monkeypatch, capsys, "destinations", "check", "1")[0] == 0
    # when the app is revoked and its secret rotated, the push stops and says to reconnect
    org = the_org(org_server)
    control(org_server, "salesforce", "revoke")
    control(org_server, "salesforce", "expire")
    status, _out, err = main(env, monkeypatch, capsys, "destinations", "push", "1")
    assert status == 2 and "did not accept" not in err and "refused" in err
    org.revoked, org.client_secret = False, "NEWSECRET" + org.client_secret[9:]
    # then the old secret is refused by reconnect, and the new one accepted; what waited is pushed
    status, _out, err = main(
        env, monkeypatch, capsys, "destinations", "reconnect-salesforce", "1", "--client-secret", "stale"
    )
    assert status == 2 and "nothing was saved" in err
    status, out, _err = main(
        env,
        monkeypatch,
        capsys,
        "destinations",
        "reconnect-salesforce",
        "1",
        "--client-secret",
        org.client_secret,
    )
    assert status == 0 and "reconnected" in out
    assert main(env, monkeypatch, capsys, "destinations", "push", "1")[0] == 0
    assert len(held(org_server, "Contact", "Connector_Contact_Id__c")) > 0
    assert main(env, monkeypatch, capsys, "destinations", "reconnect-hubspot", "1", "--token", "x")[0] == 2
