"""destinations/salesforce/client.py against the sandbox's org over https: a batch upserted by
Collections or by Bulk API 2.0 by its size, a refused record named with its reason while the
rest are saved, an expired session renewed, throttles and 5xx as RetryLater, a refused app as
Reauthorize, deletes to the recycle bin or for good, opt-outs read back, and the reserve kept
of the daily allocation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connector.errors import FailPermanently, Reauthorize, RetryLater
from destinations.pacing import Pacing
from destinations.salesforce import bulk
from destinations.salesforce.client import BULK_FROM, SalesforceClient
from destinations.salesforce.texts import csv_value
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.sandbox.crm_rig import CRM_SIZES, control, salesforce, trusting

EXT = "Connector_Id__c"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    running = SandboxServer(World(seed=13, sizes=CRM_SIZES), tls=True).start()
    field = {"name": EXT, "type": "Text", "length": 64, "externalId": True, "unique": True}
    control(running, "salesforce", "fields", {"object": "Contact", "fields": [field]})
    yield running
    running.stop()


def client(server: SandboxServer, secret: str | None = None) -> SalesforceClient:
    entry = server.world.manifest()["salesforce"]
    return SalesforceClient(
        entry["instance_url"], entry["client_id"], secret or entry["client_secret"], session=trusting(server)
    )


def paced(server: SandboxServer) -> SalesforceClient:
    """A client that tries again with backoff, as a push's does."""
    sf = client(server)
    sf.pacing = Pacing(backoff_s=0.01)
    return sf


def people(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            EXT: f"p-{i}",
            "LastName": f"Person {i}",
            "Email": f"p{i}@example.com",
            "HasOptedOutOfEmail": i % 3 == 0,
        }
        for i in range(start, start + n)
    ]


def held(server: SandboxServer) -> dict[str, dict[str, Any]]:
    answer = trusting(server).get(f"{server.url}/_sandbox/crm/salesforce/records/Contact", timeout=10)
    rows = answer.json()["records"]
    return {r[EXT]: r for r in rows}


def test_a_refused_app_is_reauthorize_and_nothing_is_written(server: SandboxServer) -> None:
    with pytest.raises(Reauthorize):
        client(server, secret="wrong").upsert("Contact", EXT, people(3))
    assert held(server) == {}


@pytest.mark.parametrize("count", [250, BULK_FROM + 100])
def test_a_batch_is_saved_field_by_field_but_the_refused_record(server: SandboxServer, count: int) -> None:
    # given `count` people, one of them without the LastName Salesforce requires
    batch = people(count)
    batch[7]["LastName"] = None
    sf = client(server)
    # when the batch is upserted (Collections below BULK_FROM records, one Bulk 2.0 job from it)
    outcome = sf.upsert("Contact", EXT, batch)
    # then all but that one are saved, each field as sent, and that one is named with its reason
    assert set(outcome.refused) == {"p-7"} and "LastName" in outcome.refused["p-7"]
    assert len(outcome.saved) == count - 1
    stored = held(server)
    assert len(stored) == count - 1
    for sent in batch[:50] + batch[-50:]:
        if sent[EXT] == "p-7":
            continue
        row = stored[sent[EXT]]
        assert (row["LastName"], row["Email"], row["HasOptedOutOfEmail"]) == (
            sent["LastName"],
            sent["Email"],
            sent["HasOptedOutOfEmail"],
        )
    jobs = server.world.salesforce.jobs  # type: ignore[union-attr]
    assert bool(jobs) == (count >= BULK_FROM)
    # and upserting again changes records in place
    assert len(sf.upsert("Contact", EXT, batch[:3]).saved) == 3 and len(held(server)) == count - 1


def test_an_expired_session_is_renewed_and_faults_are_retry_later(server: SandboxServer) -> None:
    sf = client(server)
    sf.upsert("Contact", EXT, people(2))
    # given every session expired, when the client writes, then it signs in again and goes on
    control(server, "salesforce", "expire")
    assert len(sf.upsert("Contact", EXT, people(2, start=2)).saved) == 2
    # given a throttle or a server error, then RetryLater, and nothing half-written
    control(server, "salesforce", "faults", {"throttle_next": 1})
    with pytest.raises(RetryLater):
        sf.upsert("Contact", EXT, people(2, start=4))
    control(server, "salesforce", "faults", {"fail_next": 1})
    with pytest.raises(RetryLater):
        sf.upsert("Contact", EXT, people(2, start=4))
    assert len(held(server)) == 4
    # given the app's access revoked, then Reauthorize
    control(server, "salesforce", "revoke")
    with pytest.raises(Reauthorize):
        sf.upsert("Contact", EXT, people(2, start=4))


def test_delete_to_the_recycle_bin_or_for_good(server: SandboxServer) -> None:
    sf = client(server)
    sf.upsert("Contact", EXT, people(4))
    # when two are deleted, one of them for good (an erasure)
    assert set(sf.delete("Contact", EXT, ["p-0"]).saved) == {"p-0"}
    assert set(sf.delete("Contact", EXT, ["p-1"], for_good=True).saved) == {"p-1"}
    # then neither is held; queryAll still sees the first, marked deleted, and never the second
    assert set(held(server)) == {"p-2", "p-3"}
    trace = salesforce(server).query_all(f"SELECT {EXT}, IsDeleted FROM Contact", include_deleted=True)
    assert sorted((r[EXT], r["IsDeleted"]) for r in trace["records"]) == [
        ("p-0", True),
        ("p-2", False),
        ("p-3", False),
    ]


def test_opt_outs_made_in_salesforce_are_read_since_a_time(server: SandboxServer) -> None:
    sf = client(server)
    sf.upsert("Contact", EXT, people(3, start=1))  # p-1, p-2 in, p-3 out
    since = datetime.now(UTC) - timedelta(seconds=1)
    control(server, "salesforce", "opt-out", {"email": "p2@example.com"})
    found = sf.opted_out_since(since, EXT)
    assert sorted((o.email, o.external_id) for o in found) == [
        ("p2@example.com", "p-2"),
        ("p3@example.com", "p-3"),
    ]
    assert sf.opted_out_since(datetime.now(UTC) + timedelta(minutes=1)) == []


def test_the_reserve_of_the_daily_allocation_is_kept(server: SandboxServer) -> None:
    sf = client(server)
    sf.upsert("Contact", EXT, people(1))
    # given 96 of 100 calls used (the reserve is 5%), when the client is asked to write, then it waits
    control(server, "salesforce", "limits", {"daily": 100, "used": 95})
    sf.upsert("Contact", EXT, people(1, start=1))  # this answer reports 96 of 100
    assert sf.usage == (96, 100)
    with pytest.raises(RetryLater) as waiting:
        sf.upsert("Contact", EXT, people(1, start=2))
    assert waiting.value.retry_after is not None
    assert set(held(server)) == {"p-0", "p-1"}


def test_a_bulk_job_renews_an_expired_session_and_faults_are_retry_later(server: SandboxServer) -> None:
    # given a batch large enough for a Bulk API 2.0 job, and every session expired
    sf = client(server)
    sf.upsert("Contact", EXT, people(2))
    control(server, "salesforce", "expire")
    # when the client writes it, then it signs in again and the job saves every record
    assert len(sf.upsert("Contact", EXT, people(BULK_FROM, start=2)).saved) == BULK_FROM
    # given a throttle or a server error met by the job, then RetryLater, and the next try saves
    # the batch once, in place
    for fault in ({"throttle_next": 1}, {"fail_next": 1}):
        control(server, "salesforce", "faults", fault)
        with pytest.raises(RetryLater):
            sf.upsert("Contact", EXT, people(BULK_FROM, start=2))
    assert len(sf.upsert("Contact", EXT, people(BULK_FROM, start=2)).saved) == BULK_FROM
    assert len(held(server)) == BULK_FROM + 2
    # and no job was left open
    jobs = server.world.salesforce.jobs  # type: ignore[union-attr]
    assert {j.state for j in jobs.values()} <= {"JobComplete", "Aborted"}


@pytest.mark.parametrize(
    "fault",
    [
        {"fail_next": 2, "on": "GET /jobs/ingest/750"},  # its status polls
        {"throttle_next": 1, "on": "/successfulResults"},  # its results read
    ],
)
def test_a_bulk_job_whose_poll_or_results_read_fails_is_read_again_not_sent_again(
    server: SandboxServer, fault: dict[str, Any]
) -> None:
    # given a client that tries again (as a push's does), and a Bulk-sized batch
    sf = paced(server)
    jobs = server.world.salesforce.jobs  # type: ignore[union-attr]
    before = set(jobs)
    # when Salesforce fails the calls that read the running job
    control(server, "salesforce", "faults", fault)
    outcome = sf.upsert("Contact", EXT, people(BULK_FROM))
    # then the one job made is read again: every record saved and made new, none refused by a
    # second job meeting the first's rows
    assert (len(outcome.saved), len(outcome.created), outcome.refused) == (BULK_FROM, BULK_FROM, {})
    assert [jobs[j].state for j in set(jobs) - before] == ["JobComplete"]
    assert sf.pacing is not None and sf.pacing.retries == (fault.get("fail_next") or 1)


def test_a_hard_delete_whose_poll_fails_is_read_again_and_deleted_once(server: SandboxServer) -> None:
    # given contacts held, a client that tries again, and Salesforce failing the job's first poll
    sf = paced(server)
    saved = sf.upsert("Contact", EXT, people(3)).saved
    jobs = server.world.salesforce.jobs  # type: ignore[union-attr]
    before = set(jobs)
    control(server, "salesforce", "faults", {"fail_next": 1, "on": "GET /jobs/ingest/750"})
    # when two are erased, then the one hardDelete job is polled again: no second job finding
    # them gone and reporting them kept
    sf.delete_ids([saved["p-0"], saved["p-1"]], for_good=True)
    assert set(held(server)) == {"p-2"}
    assert [(jobs[j].operation, jobs[j].state) for j in set(jobs) - before] == [("hardDelete", "JobComplete")]
    # and deleting what is gone already is done, to the recycle bin or for good
    sf.delete_ids([saved["p-0"]], for_good=True)
    sf.delete_ids([saved["p-1"], saved["p-2"]])
    assert held(server) == {}


def test_bulk_csv_values_keep_a_bare_carriage_return_in_their_row(server: SandboxServer) -> None:
    # given contacts whose values hold a bare \r, and a \r\n with a comma and quotes
    rows = people(BULK_FROM)
    rows[0] |= {"LastName": "Line one\rline two", "Description": 'a,b\r\n"c"'}
    # when they go by Bulk API 2.0, then each value arrives as it was, and no row is split
    outcome = client(server).upsert("Contact", EXT, rows)
    assert (len(outcome.saved), outcome.refused) == (BULK_FROM, {})
    there = held(server)
    assert (there["p-0"]["LastName"], there["p-0"]["Description"]) == ("Line one\rline two", 'a,b\r\n"c"')


def test_bulk_csv_numbers_have_no_exponent_and_non_numbers_clear_the_field() -> None:
    values = [1e-05, 1e20, 1.5, Decimal("1E+2"), Decimal("12.30"), float("nan"), 7, True, None]
    assert [csv_value(v) for v in values] == [
        "0.00001",
        "100000000000000000000",
        "1.5",
        "100",
        "12.30",
        "#N/A",
        7,
        "true",
        "#N/A",
    ]


def test_a_bulk_batch_over_the_upload_limit_goes_in_jobs_of_half_as_many_rows(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an upload limit a third of the batch's CSV (so halves are over it, quarters under)
    rows = people(BULK_FROM)
    monkeypatch.setattr(bulk, "MAX_BYTES", len(bulk._csv(list(rows[0]), rows).encode()) // 3)
    jobs = server.world.salesforce.jobs  # type: ignore[union-attr]
    before = set(jobs)
    # when the batch is upserted, then it goes in four jobs and every record is saved
    outcome = client(server).upsert("Contact", EXT, rows)
    assert (len(outcome.saved), outcome.refused) == (BULK_FROM, {})
    assert len(set(jobs) - before) == 4
    assert len(held(server)) == BULK_FROM


def test_a_line_of_an_activated_order_kept_from_the_bin_is_logged_but_kept_for_good_fails(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    # given an order with one line, which the merchant's team then activates
    sf, rest = client(server), salesforce(server)
    book = rest.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"][0]["Id"]
    product = rest.Product2.create({"Name": "Mug"})["id"]  # type: ignore[operator]
    entry = {"Pricebook2Id": book, "Product2Id": product, "UnitPrice": 5, "IsActive": True}
    entry_id = rest.PricebookEntry.create(entry)["id"]  # type: ignore[operator]
    account = rest.Account.create({"Name": "Shop"})["id"]  # type: ignore[operator]
    order = {"AccountId": account, "EffectiveDate": "2026-12-01", "Status": "Draft", "Pricebook2Id": book}
    order_id = rest.Order.create(order)["id"]  # type: ignore[operator]
    line = {"OrderId": order_id, "PricebookEntryId": entry_id, "Quantity": 1, "UnitPrice": 5}
    line_id = rest.OrderItem.create(line)["id"]  # type: ignore[operator]
    rest.Order.update(order_id, {"Status": "Activated"})  # type: ignore[operator]
    # when the line is deleted to the recycle bin, then Salesforce's refusal is logged, not raised
    with caplog.at_level("WARNING"):
        sf.delete_ids([line_id])
    assert "salesforce kept records it was asked to delete" in caplog.text
    # and when it is erased, then the push fails in Salesforce's words (not reported done)
    with pytest.raises(FailPermanently, match="activated order"):
        sf.delete_ids([line_id], for_good=True)
    assert rest.query(f"SELECT Id FROM OrderItem WHERE Id = '{line_id}'")["totalSize"] == 1
