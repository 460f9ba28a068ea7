"""The sandbox's Zoho CRM through `requests` against Zoho's documented shapes (Zoho's own SDK is
checked in test_zoho_sdk.py): each data center's accounts
server and the api_domain it answers, upsert by duplicate-check fields with a result per record,
paged reads past the 2,000th record, delete, custom fields, Sales_Orders with their lines, Host
routing from Zoho's own names, and the faults a push must survive in Zoho's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.sandbox.crm_rig import CRM_SIZES


@pytest.fixture
def zoho_server() -> Iterator[SandboxServer]:
    server = SandboxServer(World(seed=5, sizes=CRM_SIZES, zoho_dc="eu")).start()
    yield server
    server.stop()


def entry(server: SandboxServer) -> dict[str, Any]:
    found: dict[str, Any] = server.world.manifest()["zoho"]
    return found


def refresh(server: SandboxServer, accounts_url: str | None = None, **override: str) -> dict[str, Any]:
    z = entry(server)
    params = {"grant_type": "refresh_token", "client_id": z["client_id"], "client_secret": z["client_secret"]}
    params |= {"refresh_token": z["refresh_token"]} | override
    answer = requests.post((accounts_url or z["accounts_url"]) + "/oauth/v2/token", params=params, timeout=10)
    assert answer.status_code == 200  # Zoho answers a refused grant with 200 and an "error" too
    body: dict[str, Any] = answer.json()
    return body


class Api:
    def __init__(self, server: SandboxServer, version: int = 6) -> None:
        token = refresh(server)
        self.base = f"{token['api_domain']}/crm/v{version}"
        self.headers = {"Authorization": f"Zoho-oauthtoken {token['access_token']}"}

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(
            method, f"{self.base}/{path}", headers=self.headers | kw.pop("headers", {}), timeout=10, **kw
        )


@pytest.fixture
def api(zoho_server: SandboxServer) -> Api:
    return Api(zoho_server)


def contact(n: int, **extra: Any) -> dict[str, Any]:
    return {"Last_Name": f"N{n}", "Email": f"p{n}@example.com"} | extra


def test_the_org_answers_at_its_own_data_center_only(zoho_server: SandboxServer) -> None:
    # given an org in the EU data center
    z = entry(zoho_server)
    assert z["data_center"] == "eu" and z["accounts_url"].endswith("/zoho/eu/accounts")
    # when its refresh token is used at the EU accounts server, then the EU api_domain comes back
    token = refresh(zoho_server)
    assert token["api_domain"] == z["api_domain"] and token["expires_in"] == 3600
    # and at the US accounts server, or with a wrong refresh token, the grant is refused, as Zoho refuses it
    us = z["accounts_url"].replace("/eu/", "/us/")
    assert refresh(zoho_server, us) == {"error": "invalid_client"}
    assert refresh(zoho_server, refresh_token="1000.nope") == {"error": "invalid_code"}
    # and a token is refused by another data center's API
    wrong = Api(zoho_server)
    wrong.base = wrong.base.replace("/eu/", "/us/")
    assert wrong.call("GET", "Contacts", params={"fields": "Email"}).json()["code"] == "INVALID_TOKEN"


def test_upsert_inserts_then_updates_by_the_duplicate_check_field(
    api: Api, zoho_server: SandboxServer
) -> None:
    # given two contacts upserted, one without its required Last_Name
    first = api.call("POST", "Contacts/upsert", json={"data": [contact(1), {"Email": "x@example.com"}]})
    # then the call is a multi-status: one inserted, one refused with the field's path
    assert first.status_code == 207
    inserted, refused = first.json()["data"]
    assert (inserted["status"], inserted["action"], inserted["duplicate_field"]) == (
        "success",
        "insert",
        None,
    )
    assert refused == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"},
        "message": "required field not found",
        "status": "error",
    }
    # when the same e-mail (in other capitals) is upserted with an opt-out, by Email
    body = {
        "data": [contact(1, Email="P1@EXAMPLE.com", Email_Opt_Out=True)],
        "duplicate_check_fields": ["Email"],
    }
    second = api.call("POST", "Contacts/upsert", json=body).json()["data"][0]
    # then the same record is updated, naming the field that matched
    assert (second["action"], second["duplicate_field"], second["details"]["id"]) == (
        "update",
        "Email",
        inserted["details"]["id"],
    )
    assert entry(zoho_server)["counts"] == {"contacts": 1, "orders": 0}
    # and over 100 records in one call is refused whole
    too_many = api.call("POST", "Contacts/upsert", json={"data": [contact(n) for n in range(101)]})
    assert too_many.status_code == 400 and too_many.json()["code"] == "LIMIT_EXCEEDED"
    assert entry(zoho_server)["counts"]["contacts"] == 1


def test_records_page_by_page_then_by_page_token_past_the_2000th(api: Api) -> None:
    # given 2,150 contacts
    for start in range(0, 2150, 100):
        answer = api.call(
            "POST",
            "Contacts/upsert",
            json={"data": [contact(n) for n in range(start, min(start + 100, 2150))]},
        )
        assert answer.status_code == 200
    # when they are read 200 a page: pages 1-10 by number, then by next_page_token
    params = {"fields": "Email,Email_Opt_Out", "per_page": "200", "sort_by": "id", "sort_order": "asc"}
    seen: list[str] = []
    page, token = 1, None
    while True:
        query = params | ({"page_token": token} if token else {"page": str(page)})
        body = api.call("GET", "Contacts", params=query).json()
        seen += [r["Email"] for r in body["data"]]
        if not body["info"]["more_records"]:
            break
        page += 1
        token = body["info"]["next_page_token"] if page > 10 else None
    # then every contact arrives once
    assert len(seen) == len(set(seen)) == 2150
    # and the 11th page by number is refused, as Zoho limits discrete paging
    refused = api.call("GET", "Contacts", params=params | {"page": "11"})
    assert refused.status_code == 400 and refused.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    # and without fields (v6) the read is refused
    assert api.call("GET", "Contacts").json()["code"] == "REQUIRED_PARAM_MISSING"


def test_if_modified_since_reads_only_the_opt_outs_made_in_the_crm(
    api: Api, zoho_server: SandboxServer
) -> None:
    # given three pushed contacts and the time just after the push
    api.call("POST", "Contacts/upsert", json={"data": [contact(n) for n in range(3)]})
    stamps = api.call("GET", "Contacts", params={"fields": "Modified_Time"}).json()["data"]
    since = max(r["Modified_Time"] for r in stamps)
    # when the merchant unsubscribes one in the CRM a second later
    import time

    time.sleep(1.1)
    requests.post(
        f"{zoho_server.url}/_sandbox/crm/zoho/opt-out", json={"email": "p1@example.com"}, timeout=10
    )
    # then a read modified since the push finds that one, opted out
    changed = api.call(
        "GET", "Contacts", params={"fields": "Email,Email_Opt_Out"}, headers={"If-Modified-Since": since}
    )
    assert [(r["Email"], r["Email_Opt_Out"]) for r in changed.json()["data"]] == [("p1@example.com", True)]


def test_a_deleted_contact_leaves_no_lookup_behind(api: Api, zoho_server: SandboxServer) -> None:
    # given a contact, a product and a sales order of two lines for the contact
    cid = api.call("POST", "Contacts", json={"data": [contact(1)]}).json()["data"][0]["details"]["id"]
    pid = api.call("POST", "Products", json={"data": [{"Product_Name": "Mug", "Unit_Price": 12.5}]}).json()
    product = pid["data"][0]["details"]["id"]
    lines = [
        {"Product_Name": {"id": product}, "Quantity": 2},
        {"Product_Name": {"id": product}, "Quantity": 1, "List_Price": 10},
    ]
    order = api.call(
        "POST",
        "Sales_Orders",
        json={"data": [{"Subject": "#1001", "Contact_Name": {"id": cid}, "Ordered_Items": lines}]},
    )
    assert order.status_code == 201
    oid = order.json()["data"][0]["details"]["id"]
    saved = api.call("GET", f"Sales_Orders/{oid}").json()["data"][0]
    assert saved["Grand_Total"] == 35.0 and saved["Contact_Name"] == {"id": cid, "name": "N1"}
    # when the contact is deleted (with an unknown id beside it)
    deleted = api.call("DELETE", "Contacts", params={"ids": f"{cid},42"})
    # then each id has its own result, the contact is gone and the order names no one
    assert deleted.status_code == 207
    assert [r["status"] for r in deleted.json()["data"]] == ["success", "error"]
    assert api.call("GET", f"Contacts/{cid}").status_code == 204
    assert api.call("GET", f"Sales_Orders/{oid}").json()["data"][0]["Contact_Name"] is None
    assert [r["id"] for r in api.call("GET", "Contacts/deleted").json()["data"]] == [cid]
    assert entry(zoho_server)["counts"] == {"contacts": 0, "orders": 1}


def test_a_custom_unique_field_is_made_through_the_fields_api_and_used_for_upsert(api: Api) -> None:
    # given a custom unique field Connector Id on Contacts
    made = api.call(
        "POST",
        "settings/fields",
        params={"module": "Contacts"},
        json={
            "fields": [
                {
                    "field_label": "Connector Id",
                    "data_type": "text",
                    "length": 64,
                    "unique": {"casesensitive": False},
                }
            ]
        },
    )
    assert made.status_code == 201 and made.json()["fields"][0]["details"]["api_name"] == "Connector_Id"
    listed = {
        f["api_name"]: f
        for f in api.call("GET", "settings/fields", params={"module": "Contacts"}).json()["fields"]
    }
    assert listed["Connector_Id"]["custom_field"] and listed["Connector_Id"]["unique"]
    # when a contact is upserted twice by it, the second time with a new e-mail
    check = {"duplicate_check_fields": ["Connector_Id"]}
    api.call("POST", "Contacts/upsert", json={"data": [contact(1, Connector_Id="c-1")]} | check)
    again = api.call(
        "POST",
        "Contacts/upsert",
        json={"data": [contact(1, Connector_Id="c-1", Email="new@example.com")]} | check,
    )
    # then it is the same record, its e-mail changed
    assert again.json()["data"][0]["action"] == "update"
    emails = [r["Email"] for r in api.call("GET", "Contacts", params={"fields": "Email"}).json()["data"]]
    assert emails == ["new@example.com"]


def test_zohos_own_host_names_reach_the_sandbox(zoho_server: SandboxServer) -> None:
    # given a request addressed to accounts.zoho.eu (as through a resolver pointing it here)
    z = entry(zoho_server)
    params = {
        "grant_type": "refresh_token",
        "client_id": z["client_id"],
        "client_secret": z["client_secret"],
        "refresh_token": z["refresh_token"],
    }
    answer = requests.post(
        f"{zoho_server.url}/oauth/v2/token", params=params, headers={"Host": "accounts.zoho.eu"}, timeout=10
    )
    # then the EU accounts server answers, naming the EU API host
    token = answer.json()
    assert token["api_domain"].startswith("http://www.zohoapis.eu")
    # and the API host answers the records API at its root
    listed = requests.get(
        f"{zoho_server.url}/crm/v6/Contacts",
        params={"fields": "Email"},
        headers={"Host": "www.zohoapis.eu", "Authorization": f"Zoho-oauthtoken {token['access_token']}"},
        timeout=10,
    )
    assert listed.status_code == 204  # no records yet: Zoho's empty answer


def test_faults_answer_in_zohos_shape(api: Api, zoho_server: SandboxServer) -> None:
    control = f"{zoho_server.url}/_sandbox/crm/zoho"
    # given the next call throttled with a retry hint: then 429 TOO_MANY_REQUESTS and the hint
    requests.post(f"{control}/faults", json={"throttle_next": 1, "retry_after_s": 3}, timeout=10)
    throttled = api.call("GET", "Contacts", params={"fields": "Email"})
    assert throttled.status_code == 429 and throttled.json()["code"] == "TOO_MANY_REQUESTS"
    assert throttled.headers["Retry-After"] == "3"
    # given the next call failing: then 500 INTERNAL_ERROR, and the next works
    requests.post(f"{control}/faults", json={"fail_next": 1}, timeout=10)
    assert api.call("GET", "Contacts", params={"fields": "Email"}).json()["code"] == "INTERNAL_ERROR"
    assert api.call("GET", "Contacts", params={"fields": "Email"}).status_code == 204
    # given every token expired: then INVALID_TOKEN (401), and a refresh works again
    requests.post(f"{control}/expire", timeout=10)
    expired = api.call("GET", "Contacts", params={"fields": "Email"})
    assert expired.status_code == 401 and expired.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }
    fresh = Api(zoho_server)
    assert fresh.call("GET", "Contacts", params={"fields": "Email"}).status_code == 204
    # given the day's credits spent: then the call is refused
    requests.post(f"{control}/limits", json={"daily": 5, "used": 5}, timeout=10)
    spent = fresh.call("GET", "Contacts", params={"fields": "Email"})
    assert spent.status_code == 429 and spent.json()["code"] == "TOO_MANY_REQUESTS"
    assert spent.headers["X-API-CREDITS-REMAINING"] == "0" and "24 hour" in spent.json()["message"]
    # given the grant revoked: then the refresh token no longer works
    requests.post(f"{control}/revoke", timeout=10)
    assert refresh(zoho_server) == {"error": "invalid_code"}
    # and bad fault settings are refused, changing nothing
    bad = requests.post(f"{control}/faults", json={"rate_429": 2}, timeout=10)
    assert bad.status_code == 400 and requests.get(control, timeout=10).json()["faults"]["rate_429"] == 0.0


def test_calls_past_the_concurrency_limit_are_too_many_requests(api: Api, zoho_server: SandboxServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    control = f"{zoho_server.url}/_sandbox/crm/zoho"
    # given an org that allows 2 calls at once, each taking 300 ms
    requests.post(f"{control}/limits", json={"concurrency": 2}, timeout=10)
    requests.post(f"{control}/faults", json={"latency_ms": 300}, timeout=10)
    # when 6 calls are made at once
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: api.call("GET", "Contacts", params={"fields": "Email"}), range(6)))
    # then never more than 2 ran together, and the others were refused as Zoho refuses them
    codes = sorted(a.status_code for a in answers)
    assert 204 in codes and 429 in codes and set(codes) == {204, 429}
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    assert requests.get(control, timeout=10).json()["max_in_flight"] == 2


def test_a_slow_answer_is_held_after_the_call_was_acted_on(api: Api, zoho_server: SandboxServer) -> None:
    control = f"{zoho_server.url}/_sandbox/crm/zoho"
    calls = requests.get(control, timeout=10).json()["faults"]["calls"]
    # given answers held 1.5 s
    requests.post(f"{control}/faults", json={"latency_ms": 1500}, timeout=10)
    # when a client gives up on an upsert before its answer comes
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            f"{api.base}/Contacts/upsert", headers=api.headers, json={"data": [contact(7)]}, timeout=0.3
        )
    # then Zoho took it all the same, and counted the call
    held = [r.values for r in zoho_server.world.zoho.records["Contacts"].values()]  # type: ignore[union-attr]
    assert [v["Email"] for v in held if v.get("Email") == "p7@example.com"] == ["p7@example.com"]
    assert requests.get(control, timeout=10).json()["faults"]["calls"] == calls + 1


def test_coql_reads_what_the_org_holds_while_search_lags(api: Api, zoho_server: SandboxServer) -> None:
    # given three contacts, and a search index an hour behind
    saved = api.call("POST", "Contacts", json={"data": [contact(n) for n in range(3)]})
    assert saved.status_code == 201, saved.text
    control = f"{zoho_server.url}/_sandbox/crm/zoho/limits"
    assert requests.post(control, json={"search_lag_s": 3600}, timeout=10).status_code == 200
    # when they are looked for by e-mail, then Search answers nothing and COQL finds them
    assert api.call("GET", "Contacts/search", params={"email": "p1@example.com"}).status_code == 204

    def coql(select: str) -> requests.Response:
        return api.call("POST", "coql", json={"select_query": select})

    found = coql("select id, Email from Contacts where Email in ('p1@example.com', 'p2@example.com') limit 1")
    assert found.status_code == 200
    assert [r["Email"] for r in found.json()["data"]] == ["p1@example.com"]
    assert found.json()["info"] == {"count": 1, "more_records": True}
    assert coql("select id from Contacts where Email = 'nobody@example.com'").status_code == 204
    # and a query it cannot read, or an in of more than 50 values, is Zoho's SYNTAX_ERROR
    fifty_one = ", ".join(f"'{n}'" for n in range(51))
    for bad in (
        "delete from Contacts",
        "select Nope from Contacts where Email = 'a'",
        f"select id from Contacts where Email in ({fifty_one})",
    ):
        refused = coql(bad)
        assert (refused.status_code, refused.json()["code"]) == (400, "SYNTAX_ERROR"), bad
