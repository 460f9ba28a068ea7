"""Zoho's own Python SDK (zohocrmsdk8-0) against the sandbox's Zoho CRM: pointed at the sandbox by
a `DataCenter.Environment` of the manifest's api_domain and accounts URL, it refreshes its token
there, reads the module's fields (as it does before any record call), upserts with a result per
record, reads records a page at a time and deletes, and reads a throttle as Zoho's APIException."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper,
    APIException,
    BodyWrapper,
    DeleteRecordsParam,
    GetRecordsParam,
    Record,
    RecordOperations,
    ResponseWrapper,
    SuccessResponse,
)

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.sandbox.crm_rig import CRM_SIZES
from tests.sandbox.zoho_sdk import start_sdk


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(World(seed=19, sizes=CRM_SIZES, zoho_dc="eu")).start()
    start_sdk(server.world.manifest(), tmp_path)
    yield server
    server.stop()


def contact(**values: Any) -> Record:
    record = Record()
    for name, value in values.items():
        record.add_key_value(name, value)
    return record


def test_the_sdk_upserts_reads_and_deletes_against_the_sandbox(sdk: SandboxServer) -> None:
    operations = RecordOperations("Contacts")
    # given two contacts, the second without its Last_Name
    body = BodyWrapper()
    body.set_data([contact(Last_Name="Lovelace", Email="ada@example.com"), contact(Email="x@example.com")])
    body.set_duplicate_check_fields(["Email"])
    # when the SDK upserts them, then one succeeds and one is Zoho's APIException naming the field
    answer = operations.upsert_records(body, HeaderMap())
    assert answer.get_status_code() == 207
    wrapper = answer.get_object()
    assert isinstance(wrapper, ActionWrapper)
    saved, refused = wrapper.get_data()
    assert isinstance(saved, SuccessResponse) and saved.get_status().get_value() == "success"
    assert isinstance(refused, APIException) and refused.get_code().get_value() == "MANDATORY_NOT_FOUND"
    record_id = saved.get_details()["id"]
    # when it reads the contacts, then the one saved is there with its e-mail
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Email,Last_Name,Email_Opt_Out")
    read = operations.get_records(params, HeaderMap()).get_object()
    assert isinstance(read, ResponseWrapper)
    assert [(str(r.get_id()), r.get_key_value("Email")) for r in read.get_data()] == [
        (record_id, "ada@example.com")
    ]
    assert read.get_info().get_more_records() is False
    # when it deletes it, then the sandbox holds no contact
    ids = ParameterMap()
    ids.add(DeleteRecordsParam.ids, record_id)
    deleted = operations.delete_records(ids, HeaderMap()).get_object()
    assert isinstance(deleted, ActionWrapper) and isinstance(deleted.get_data()[0], SuccessResponse)
    assert sdk.world.manifest()["zoho"]["counts"]["contacts"] == 0


def test_the_sdk_reads_a_throttle_as_zohos_api_exception(sdk: SandboxServer) -> None:
    operations = RecordOperations("Contacts")
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Email")
    assert operations.get_records(params, HeaderMap()).get_status_code() == 204  # signed in, nothing yet
    requests.post(f"{sdk.url}/_sandbox/crm/zoho/faults", json={"throttle_next": 1}, timeout=10)
    answer = operations.get_records(params, HeaderMap())
    assert answer.get_status_code() == 429
    refused = answer.get_object()
    assert isinstance(refused, APIException) and refused.get_code().get_value() == "TOO_MANY_REQUESTS"
