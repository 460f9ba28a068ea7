"""The sandbox's Salesforce org through simple-salesforce, the well-kept PyPI client, over https:
sign-in by the client-credentials grant (by hand and by the client's own OAuth helper), upsert by
an external id, SOQL paged by nextRecordsUrl, sObject Collections' per-record errors, Bulk API 2.0
ingest with its result files, orders with their lines, limits and their header, and the faults a
push must survive, each in Salesforce's own shape."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.sandbox.crm_rig import (
    CRM_SIZES,
    body,
    bulk,
    control,
    errors_of,
    rest,
    salesforce,
    salesforce_token,
    trusting,
)

EXT = "Connector_Id__c"


@pytest.fixture
def org_server() -> Iterator[SandboxServer]:
    server = SandboxServer(World(seed=11, sizes=CRM_SIZES), tls=True).start()
    added = control(server, "salesforce", "fields", {"object": "Contact", "fields": [ext_field()]})
    assert added == {"added": [EXT]}
    yield server
    server.stop()


def ext_field() -> dict[str, Any]:
    return {"name": EXT, "type": "Text", "length": 64, "externalId": True, "unique": True}


@pytest.fixture
def sf(org_server: SandboxServer) -> Salesforce:
    return salesforce(org_server)


def test_the_client_credentials_grant_answers_the_instance_url_and_a_bad_secret_gets_nothing(
    org_server: SandboxServer,
) -> None:
    # given the connected app's credentials from the manifest
    entry = org_server.world.manifest()["salesforce"]
    # when it signs in, then the token names the instance the REST API answers at
    token = salesforce_token(org_server)
    assert token["instance_url"] == entry["instance_url"] and token["token_type"] == "Bearer"
    assert "refresh_token" not in token  # the client-credentials flow issues none
    # and a wrong secret is refused in OAuth's shape, with no session issued
    sessions = len(org_server.world.salesforce.sessions)  # type: ignore[union-attr]
    answer = trusting(org_server).post(
        entry["instance_url"] + "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": entry["client_id"], "client_secret": "nope"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}
    assert len(org_server.world.salesforce.sessions) == sessions  # type: ignore[union-attr]


def test_simple_salesforce_signs_in_by_its_own_oauth_helper_through_the_proxy() -> None:
    # given the sandbox over https with its CONNECT proxy, so the org's My Domain resolves to it
    server = SandboxServer(World(seed=3, sizes=CRM_SIZES), tls=True, proxy=True).start()
    try:
        entry = server.world.manifest()["salesforce"]
        session = trusting(server)
        session.proxies = {"https": server.world.manifest()["proxy"]}
        # when simple-salesforce runs the client-credentials flow against https://<domain>.salesforce.com
        sf = Salesforce(
            consumer_key=entry["client_id"],
            consumer_secret=entry["client_secret"],
            domain="sandbox-org.my",
            session=session,
            version="62.0",
        )
        # then it is signed in at the instance the token named, and calls work there
        assert sf.sf_instance == "sandbox-org.my.salesforce.com"
        assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    finally:
        server.stop()


def test_upsert_by_external_id_creates_then_updates_the_same_contact(sf: Salesforce) -> None:
    # given no contact with external id c-1
    # when it is upserted twice, the second time with a changed opt-out
    first = rest(sf, "Contact").upsert(
        f"{EXT}/c-1", {"LastName": "Lovelace", "FirstName": "Ada", "Email": "ada@example.com"}
    )
    second = rest(sf, "Contact").upsert(f"{EXT}/c-1", {"HasOptedOutOfEmail": True})
    # then the first created (201) and the second updated (200) one record, fields as sent
    assert (first, second) == (201, 200)
    found = body(rest(sf, "Contact").get_by_custom_id(EXT, "c-1"))
    assert (found["Name"], found["Email"], found["HasOptedOutOfEmail"]) == (
        "Ada Lovelace",
        "ada@example.com",
        True,
    )
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 1


def test_fields_made_after_records_were_written_are_checked_and_filled_on_the_next_writes(
    sf: Salesforce,
) -> None:
    # given a contact written, then a unique text field and a checkbox made through the Tooling API
    rest(sf, "Contact").upsert(f"{EXT}/f-0", {"LastName": "Before"})
    for name, metadata in (
        ("Badge__c", {"type": "Text", "label": "Badge", "length": 20, "unique": True}),
        ("Vip__c", {"type": "Checkbox", "label": "VIP", "defaultValue": "false"}),
    ):
        sf.toolingexecute(
            "sobjects/CustomField", method="POST", data={"FullName": f"Contact.{name}", "Metadata": metadata}
        )
    # when two more contacts are written with the same badge
    rest(sf, "Contact").upsert(f"{EXT}/f-1", {"LastName": "One", "Badge__c": "b-7"})
    with pytest.raises(SalesforceMalformedRequest) as refused:
        rest(sf, "Contact").upsert(f"{EXT}/f-2", {"LastName": "Two", "Badge__c": "B-7"})
    # then the second is refused as a duplicate, and a new contact's checkbox starts false
    assert errors_of(refused)[0]["errorCode"] == "DUPLICATE_VALUE"
    assert body(rest(sf, "Contact").get_by_custom_id(EXT, "f-1"))["Vip__c"] is False


def test_a_refused_write_names_the_field_in_salesforces_error_shape(sf: Salesforce) -> None:
    # given a contact body without its required LastName, then one with an unknown field
    # when each is upserted, then each is refused with Salesforce's error array and nothing is written
    with pytest.raises(SalesforceMalformedRequest) as missing:
        rest(sf, "Contact").upsert(f"{EXT}/c-2", {"Email": "x@example.com"})
    assert errors_of(missing) == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        rest(sf, "Contact").upsert(f"{EXT}/c-2", {"LastName": "X", "Segment__c": "vip"})
    assert errors_of(unknown)[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound):
        rest(sf, "Contact").upsert("Nope__c/1", {"LastName": "X"})
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_query_all_follows_next_records_url_and_filters_on_last_modified_date(sf: Salesforce) -> None:
    # given 450 contacts written by Bulk API 2.0 and one changed afterwards
    rows = [{EXT: f"c-{n}", "LastName": f"N{n}", "Email": f"p{n}@example.com"} for n in range(450)]
    bulk(sf, "Contact").upsert(records=rows, external_id_field=EXT, wait=0)
    cut = sf.query("SELECT LastModifiedDate FROM Contact ORDER BY LastModifiedDate DESC LIMIT 1")["records"][
        0
    ]
    rest(sf, "Contact").upsert(f"{EXT}/c-7", {"HasOptedOutOfEmail": True})
    # when every contact is queried 200 a page, and those changed after the cut
    sf.headers["Sforce-Query-Options"] = "batchSize=200"
    first = sf.query("SELECT Id, Email FROM Contact")
    everyone = sf.query_all("SELECT Id, Email FROM Contact")
    since = cut["LastModifiedDate"].replace(".000+0000", "Z").replace("+0000", "Z")
    fields = "Id, Email, HasOptedOutOfEmail, LastModifiedDate"
    changed = sf.query_all(f"SELECT {fields} FROM Contact WHERE LastModifiedDate > {since}")
    # then the first page says more are coming, all 450 arrive once, and the changed one is found
    assert (len(first["records"]), first["done"]) == (200, False) and "nextRecordsUrl" in first
    assert len({r["Id"] for r in everyone["records"]}) == everyone["totalSize"] == 450
    assert [(r["Email"], r["HasOptedOutOfEmail"]) for r in changed["records"]] == [("p7@example.com", True)]


def test_a_quoted_datetime_in_soql_is_refused_as_salesforce_refuses_it(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT Id FROM Contact WHERE LastModifiedDate > '2026-01-01T00:00:00Z'")
    assert errors_of(refused)[0]["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"


def test_collections_upsert_refuses_one_record_and_saves_the_rest_unless_all_or_none(sf: Salesforce) -> None:
    # given two good contacts and one without its LastName
    records = [
        {"attributes": {"type": "Contact"}, EXT: "a", "LastName": "A"},
        {"attributes": {"type": "Contact"}, EXT: "b"},
        {"attributes": {"type": "Contact"}, EXT: "c", "LastName": "C"},
    ]
    path = f"composite/sobjects/Contact/{EXT}"
    # when they are upserted all-or-none, then nothing is saved and the good ones say rolled back
    rolled = sf.restful(path, method="PATCH", json={"allOrNone": True, "records": records})
    assert rolled is not None
    assert [r["success"] for r in rolled] == [False, False, False]
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    # when they are upserted with allOrNone false, then the bad one alone fails, with its reason
    results = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": records})
    assert results is not None
    assert [(r["success"], r.get("created")) for r in results] == [(True, True), (False, None), (True, True)]
    assert results[1]["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"],
        }
    ]
    # and over 200 records in one call is refused as a whole
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful(path, method="PATCH", json={"allOrNone": False, "records": records * 67})


def test_bulk2_upsert_reports_each_refused_row_with_its_reason(
    sf: Salesforce, org_server: SandboxServer
) -> None:
    # given 30 good rows and one without its LastName
    rows: list[dict[str, Any]] = [{EXT: f"c-{n}", "LastName": f"N{n}"} for n in range(30)]
    rows.append({EXT: "bad", "LastName": ""})
    # when they go through a Bulk API 2.0 upsert job
    outcome = bulk(sf, "Contact").upsert(records=rows, external_id_field=EXT, wait=0)
    # then 31 rows were processed, one failed, and the failed results name the reason per row
    assert (outcome[0]["numberRecordsProcessed"], outcome[0]["numberRecordsFailed"]) == (31, 1)
    failed = bulk(sf, "Contact").get_failed_records(str(outcome[0]["job_id"]))
    assert failed.splitlines()[0].startswith('"sf__Id","sf__Error"') or failed.startswith("sf__Id,sf__Error")
    assert "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]" in failed
    successful = bulk(sf, "Contact").get_successful_records(str(outcome[0]["job_id"]))
    assert len(successful.strip().splitlines()) == 31  # the header and 30 rows
    assert org_server.world.manifest()["salesforce"]["counts"]["contacts"] == 30


def test_an_order_needs_its_price_book_and_totals_its_lines(
    sf: Salesforce, org_server: SandboxServer
) -> None:
    # given an account, a contact, a product with a standard price
    account = body(rest(sf, "Account").create({"Name": "Online shoppers"}))["id"]
    contact = body(rest(sf, "Contact").create({"LastName": "Lovelace", "AccountId": account}))["id"]
    standard = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"][0]["Id"]
    product = body(rest(sf, "Product2").create({"Name": "Mug", "IsActive": True}))["id"]
    entry = body(
        rest(sf, "PricebookEntry").create(
            {"Pricebook2Id": standard, "Product2Id": product, "UnitPrice": 12.5, "IsActive": True}
        )
    )["id"]
    # when an order without a price book gets a line, then the line is refused
    bare = body(
        rest(sf, "Order").create({"AccountId": account, "EffectiveDate": "2026-11-30", "Status": "Draft"})
    )["id"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        rest(sf, "OrderItem").create(
            {"OrderId": bare, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 12.5}
        )
    assert errors_of(refused)[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    # when an order in the standard price book gets two lines, then its amount is their total
    order = body(
        rest(sf, "Order").create(
            {
                "AccountId": account,
                "EffectiveDate": "2026-11-30",
                "Status": "Draft",
                "Pricebook2Id": standard,
                "BillToContactId": contact,
            }
        )
    )["id"]
    for quantity in (2, 1):
        rest(sf, "OrderItem").create(
            {"OrderId": order, "PricebookEntryId": entry, "Quantity": quantity, "UnitPrice": 12.5}
        )
    assert body(rest(sf, "Order").get(order))["TotalAmount"] == 37.5
    assert org_server.world.manifest()["salesforce"]["counts"] == {"contacts": 1, "orders": 2}
    # when the order is activated, then it takes no new line and keeps the ones it has
    rest(sf, "Order").update(order, {"Status": "Activated"})
    with pytest.raises(SalesforceMalformedRequest) as locked:
        rest(sf, "OrderItem").create(
            {"OrderId": order, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 12.5}
        )
    assert errors_of(locked)[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    line = sf.query(f"SELECT Id FROM OrderItem WHERE OrderId = '{order}'")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest):
        rest(sf, "OrderItem").delete(line)
    assert body(rest(sf, "Order").get(order))["TotalAmount"] == 37.5


def test_a_deleted_contact_stays_in_the_recycle_bin_until_a_bulk_hard_delete(sf: Salesforce) -> None:
    # given a contact deleted through the REST API
    rest(sf, "Contact").upsert(f"{EXT}/gone", {"LastName": "Gone", "Email": "gone@example.com"})
    record_id = body(rest(sf, "Contact").get_by_custom_id(EXT, "gone"))["Id"]
    rest(sf, "Contact").delete(record_id)
    # then query no longer sees it but queryAll does, marked deleted
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    trace = sf.query_all("SELECT Id, IsDeleted FROM Contact", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in trace] == [(record_id, True)]
    # when a Bulk API 2.0 hardDelete job names it, then no trace is left
    bulk(sf, "Contact").hard_delete(records=[{"Id": record_id}], wait=0)
    assert sf.query_all("SELECT Id FROM Contact", include_deleted=True)["totalSize"] == 0


def test_a_custom_field_made_through_the_tooling_api_is_described_and_writable(sf: Salesforce) -> None:
    # given a Segment__c field created as the Tooling API creates it
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Contact.Segment__c",
            "Metadata": {"type": "Text", "label": "Segment", "length": 40},
        },
    )
    # then describe lists it and a write can set it
    fields = {f["name"]: f for f in rest(sf, "Contact").describe()["fields"]}
    assert fields["Segment__c"]["custom"] and fields["Segment__c"]["length"] == 40
    assert fields[EXT]["externalId"] and fields[EXT]["unique"]
    rest(sf, "Contact").upsert(f"{EXT}/s-1", {"LastName": "S", "Segment__c": "champions"})
    assert body(rest(sf, "Contact").get_by_custom_id(EXT, "s-1"))["Segment__c"] == "champions"


def test_every_answer_carries_the_api_usage_and_a_spent_allocation_is_refused(
    sf: Salesforce, org_server: SandboxServer
) -> None:
    # given a fresh session, when it makes a call, then the header counts it against the day's allocation
    sf.query("SELECT COUNT() FROM Contact")
    used = sf.api_usage["api-usage"]
    assert used.total == 100_000 and used.used >= 1
    assert sf.limits()["DailyApiRequests"]["Max"] == 100_000
    # when the allocation is spent, then the next call is REQUEST_LIMIT_EXCEEDED
    control(org_server, "salesforce", "limits", {"daily": 10, "used": 10})
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT COUNT() FROM Contact")
    assert errors_of(refused)[0] == {
        "message": "TotalRequests Limit exceeded.",
        "errorCode": "REQUEST_LIMIT_EXCEEDED",
        "fields": [],
    }


def test_faults_answer_in_salesforces_shape(sf: Salesforce, org_server: SandboxServer) -> None:
    # given the next call throttled: then REQUEST_LIMIT_EXCEEDED (403), and a hint when asked for one
    control(org_server, "salesforce", "faults", {"throttle_next": 1, "retry_after_s": 2})
    with pytest.raises(SalesforceRefusedRequest) as throttled:
        sf.query("SELECT COUNT() FROM Contact")
    assert errors_of(throttled)[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert throttled.value.status == 403
    # given the next call failing: then a 500 UNKNOWN_EXCEPTION, and the call after it works
    control(org_server, "salesforce", "faults", {"fail_next": 1})
    with pytest.raises(SalesforceGeneralError) as failed:
        sf.query("SELECT COUNT() FROM Contact")
    assert failed.value.status == 500 and errors_of(failed)[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    # given every session expired: then INVALID_SESSION_ID (401), and a new grant works again
    control(org_server, "salesforce", "expire")
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT COUNT() FROM Contact")
    assert errors_of(expired)[0] == {
        "message": "Session expired or invalid",
        "errorCode": "INVALID_SESSION_ID",
        "fields": [],
    }
    assert salesforce(org_server).query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    # given the app's access revoked: then no grant works any more
    control(org_server, "salesforce", "revoke")
    entry = org_server.world.manifest()["salesforce"]
    answer = trusting(org_server).post(
        entry["instance_url"] + "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": entry["client_id"],
            "client_secret": entry["client_secret"],
        },
        timeout=10,
    )
    assert answer.json()["error"] == "invalid_grant"


def test_an_opt_out_made_in_salesforce_moves_the_contact_past_the_last_read(
    sf: Salesforce, org_server: SandboxServer
) -> None:
    # given a pushed contact and the time of the last read
    rest(sf, "Contact").upsert(f"{EXT}/o-1", {"LastName": "O", "Email": "o@example.com"})
    before = body(rest(sf, "Contact").get_by_custom_id(EXT, "o-1"))["LastModifiedDate"]
    # when the merchant unsubscribes them in the CRM
    answer = control(org_server, "salesforce", "opt-out", {"email": "O@example.com"})
    # then the contact is opted out and modified after the read
    after = body(rest(sf, "Contact").get_by_custom_id(EXT, "o-1"))
    assert len(answer["ids"]) == 1 and after["HasOptedOutOfEmail"] is True
    assert after["LastModifiedDate"] >= before


def test_a_bulk_job_whose_header_names_no_field_fails_whole(sf: Salesforce) -> None:
    # given an insert job whose CSV has a column that is no Contact field
    job = sf.restful("jobs/ingest", method="POST", json={"object": "Contact", "operation": "insert"})
    assert job is not None
    csv_body = "LastName,Nope__c\nLovelace,x\n"
    uploaded = sf.session.put(
        f"{sf.base_url}jobs/ingest/{job['id']}/batches",
        data=csv_body.encode(),
        headers=sf.headers | {"Content-Type": "text/csv"},
    )
    assert uploaded.status_code == 201
    # when its upload completes, then the job fails naming the column and writes nothing
    sf.restful(f"jobs/ingest/{job['id']}", method="PATCH", json={"state": "UploadComplete"})
    info = sf.restful(f"jobs/ingest/{job['id']}")
    assert info is not None
    assert (info["state"], info["errorMessage"]) == (
        "Failed",
        "InvalidBatch : Field name not found : Nope__c",
    )
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_a_call_made_while_a_bulk_job_is_applied_is_answered_before_the_job_ends(sf: Salesforce) -> None:
    # given an insert job of 30,000 contacts, its upload complete in a thread of its own
    job = sf.restful("jobs/ingest", method="POST", json={"object": "Contact", "operation": "insert"})
    assert job is not None
    rows = "".join(f"Person{i},person{i}@example.com\n" for i in range(30_000))
    sf.session.put(
        f"{sf.base_url}jobs/ingest/{job['id']}/batches",
        data=("LastName,Email\n" + rows).encode(),
        headers=sf.headers | {"Content-Type": "text/csv"},
    ).raise_for_status()
    closing = threading.Thread(
        target=lambda: sf.restful(
            f"jobs/ingest/{job['id']}", method="PATCH", json={"state": "UploadComplete"}
        )
    )
    closing.start()
    while closing.is_alive() and sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0:
        pass  # until the job is being applied
    # when another call comes meanwhile, then it is answered while the job is still applied
    # (the job hands the org's lock over between slices of rows, not only once done)
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] < 30_000
    closing.join(60)
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 30_000
