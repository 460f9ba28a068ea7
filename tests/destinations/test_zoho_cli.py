"""`crm-connector destinations add-zoho | reconnect-zoho` through the console script: the grant
is tried at the data centre's accounts server before anything is saved (a bad refresh token, a
client of another data centre, an unreachable server, a bad URL, both or neither of
--accounts-url and --data-center: exit 2, one sentence, nothing saved); then list, check (the
connector's fields missing until the first push makes them), push and reconnect."""

from __future__ import annotations

import pytest

from tests.destinations.cli_helpers import assert_push_fills_what_check_misses, assert_refused, count, run
from tests.destinations.helpers import sync_everything
from tests.destinations.zoho_helpers import grant, org
from tests.rig import Rig
from tests.test_stores_cli import main


def add(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **given: str
) -> tuple[int, str, str]:
    """add-zoho with the sandbox's grant for the account `test`, changed by `given` (an empty
    accounts_url: the option left out)."""
    g = {"account": "test"} | grant(rig) | given
    return run(
        rig, monkeypatch, capsys, "add-zoho", **{k: v for k, v in g.items() if v or k != "accounts_url"}
    )


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"refresh_token": "1000.nope.nope"}, "the refresh token is expired, revoked or mistyped"),
        ({"client_secret": "wrong"}, "the client secret does not match the client id"),
        ({"account": "tset"}, "no account named 'tset'"),
        ({"accounts_url": "ftp://accounts.zoho.eu"}, "--accounts-url: the accounts server"),
        ({"accounts_url": "http://127.0.0.1:9/accounts"}, "could not be asked"),
        ({"accounts_url": ""}, "give one of --accounts-url"),
        ({"data_center": "eu"}, "give one of --accounts-url"),
        ({"refresh_token": "two words"}, "--refresh-token: give the Zoho self-client's refresh token"),
    ],
)
def test_refused_credentials_exit_2_with_a_sentence_and_save_nothing(
    rig: Rig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    given: dict[str, str],
    said: str,
) -> None:
    assert_refused(rig, add(rig, monkeypatch, capsys, **given), said)


def test_a_client_of_another_data_centre_is_refused_naming_the_data_centre(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the org lives in the US data centre, the grant tried at the EU accounts server
    eu = grant(rig)["accounts_url"].replace("/zoho/us/", "/zoho/eu/")
    status, _out, err = add(rig, monkeypatch, capsys, accounts_url=eu)
    # then it is refused, the sentence saying the client is not registered there, nothing saved
    assert (status, count(rig)) == (2, 0)
    assert f"at {eu} refused the grant: the client id is not registered in this data centre" in err
    assert "nothing was saved" in err


def test_add_zoho_then_list_check_push_and_reconnect(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = rig.env
    # a good grant: connected at the api_domain Zoho named, and listed with its objects
    status, out, _err = add(rig, monkeypatch, capsys)
    assert status == 0 and out.startswith("destination 1 connected: zoho at ") and "/zoho/us/api" in out
    sync_everything(rig)
    listed = assert_push_fills_what_check_misses(
        rig, monkeypatch, capsys, "Contacts.Connector_Contact_Id", lambda: org(rig).counts()["orders"]
    )
    assert (listed["kind"], listed["account"], listed["status"]) == ("zoho", "test", "active")
    # reconnect: a refused token changes nothing; a good one is kept
    args = ("destinations", "reconnect-zoho", "1", "--refresh-token")
    status, _out, err = main(env, monkeypatch, capsys, *args, "1000.nope.nope")
    assert status == 2 and "nothing was saved" in err
    org(rig).refresh_tokens.add("1000.new.grant")
    status, out, _err = main(env, monkeypatch, capsys, *args, "1000.new.grant")
    assert status == 0 and "reconnected" in out
    # and the push signs in with the new grant: the old one no longer works
    org(rig).refresh_tokens.discard(grant(rig)["refresh_token"])
    sync_everything(rig)
    assert main(env, monkeypatch, capsys, "destinations", "push", "1", "--full")[0] == 0
