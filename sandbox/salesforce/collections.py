"""sObject Collections (`/composite/sobjects`): up to 200 records of one type per call — create
(POST), update (PATCH), delete (DELETE `?ids=`) and upsert by an external id (PATCH
`/composite/sobjects/<Object>/<ExternalIdField>`). Results come back in request order, one per
record, `{"id", "success", "errors": [{"statusCode", "message", "fields"}], "created"}`; with
`allOrNone` false a refused record does not stop the rest, with true one refusal rolls all back."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from flask import Response, request

from sandbox.answers import as_json
from sandbox.salesforce.org import SalesforceOrg
from sandbox.salesforce.rest import json_body
from sandbox.salesforce.schema import SObject
from sandbox.salesforce.values import SalesforceError

MAX_RECORDS = 200
ROLLED_BACK = SalesforceError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)


def route(parts: list[str], method: str) -> tuple[Callable[..., Response], tuple[Any, ...]]:
    if not parts and method in ("POST", "PATCH"):
        return save, (method == "POST",)
    if not parts and method == "DELETE":
        return delete, ()
    if len(parts) == 2 and method == "PATCH":
        return upsert, (parts[0], parts[1])
    raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


def failure(error: SalesforceError) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"statusCode": error.code, "message": error.message, "fields": error.fields}],
    }


def _records() -> tuple[list[Any], bool]:
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SalesforceError("JSON_PARSER_ERROR", "records (a list of sObjects) is required")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise SalesforceError(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    return records, bool(body.get("allOrNone", False))


def _type_of(org: SalesforceOrg, item: Any, expected: str | None = None) -> SObject:
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("attributes"), dict)
        or "type" not in item["attributes"]
    ):
        raise SalesforceError("INVALID_TYPE", "Must send a concrete entity type.")
    obj = org.sobject(str(item["attributes"]["type"]))
    if expected is not None and obj.name != expected:
        raise SalesforceError("INVALID_TYPE", f"The type of the record ({obj.name}) must be {expected}.")
    return obj


def _run(org: SalesforceOrg, all_or_none: bool, steps: list[Callable[[], dict[str, Any]]]) -> Response:
    with org.lock:
        before = copy.deepcopy((org.records, org.indexes)) if all_or_none else None
        results = []
        for step in steps:
            try:
                results.append(step())
            except SalesforceError as error:
                results.append({"id": None} | failure(error))
        if before is not None and any(not r["success"] for r in results):
            org.records, org.indexes = before
            results = [r if not r["success"] else {"id": None} | failure(ROLLED_BACK) for r in results]
    return as_json(results)


def save(org: SalesforceOrg, version: str, creating: bool) -> Response:
    records, all_or_none = _records()

    def one(item: Any) -> Callable[[], dict[str, Any]]:
        def step() -> dict[str, Any]:
            obj = _type_of(org, item)
            values = {k: v for k, v in item.items() if k not in ("attributes", "Id")}
            if creating:
                if "Id" in item:
                    raise SalesforceError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id.", ["Id"]
                    )
                return {"id": org.write(obj, None, values), "success": True, "errors": []}
            if not item.get("Id"):
                raise SalesforceError("MISSING_ARGUMENT", "Id not specified in an update call", [])
            return {
                "id": org.write(obj, org.get(obj, str(item["Id"])), values),
                "success": True,
                "errors": [],
            }

        return step

    return _run(org, all_or_none, [one(item) for item in records])


def upsert(org: SalesforceOrg, version: str, name: str, field_name: str) -> Response:
    obj = org.sobject(name)
    org.by_external_id(obj, field_name, "")  # refuses a field that is not an external id, for the whole call
    f = obj.field(field_name)
    assert f is not None
    records, all_or_none = _records()
    seen: dict[str, int] = {}
    for item in records:
        key = str(item.get(f.name, "")).lower() if isinstance(item, dict) else ""
        seen[key] = seen.get(key, 0) + 1

    def one(item: Any) -> Callable[[], dict[str, Any]]:
        def step() -> dict[str, Any]:
            _type_of(org, item, obj.name)
            value = item.get(f.name)
            if value in (None, ""):
                raise SalesforceError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            if seen[str(value).lower()] > 1:
                raise SalesforceError(
                    "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [f.name]
                )
            matches = org.by_external_id(obj, f.name, value)
            if len(matches) > 1:
                raise SalesforceError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Foreign key external ID: {value} matches more than one record",
                    [f.name],
                )
            values = {k: v for k, v in item.items() if k != "attributes"}
            record_id = org.write(obj, matches[0] if matches else None, values)
            return {"id": record_id, "success": True, "errors": [], "created": not matches}

        return step

    return _run(org, all_or_none, [one(item) for item in records])


def delete(org: SalesforceOrg, version: str) -> Response:
    ids = [i for i in request.args.get("ids", "").split(",") if i]
    if not ids or len(ids) > MAX_RECORDS:
        raise SalesforceError(
            "EXCEEDED_ID_LIMIT" if ids else "MISSING_ARGUMENT",
            f"between 1 and {MAX_RECORDS} ids are required",
        )
    all_or_none = request.args.get("allOrNone", "false").lower() == "true"

    def one(record_id: str) -> Callable[[], dict[str, Any]]:
        def step() -> dict[str, Any]:
            for obj in org.objects.values():
                if record_id.startswith(obj.key_prefix):
                    record = org.records[obj.name].get(record_id)
                    if record is not None and not record.deleted:
                        org.delete(obj, record)
                        return {"id": record_id, "success": True, "errors": []}
            raise SalesforceError(
                "ENTITY_IS_DELETED" if _was_deleted(org, record_id) else "INVALID_CROSS_REFERENCE_KEY",
                "entity is deleted" if _was_deleted(org, record_id) else "invalid cross reference id",
            )

        return step

    return _run(org, all_or_none, [one(i) for i in ids])


def _was_deleted(org: SalesforceOrg, record_id: str) -> bool:
    return any(record_id in rows and rows[record_id].deleted for rows in org.records.values())
