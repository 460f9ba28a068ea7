"""The REST resources on records: describe, create, read, update and delete by id, upsert and
read by an external id, `updated`/`deleted` since a time, SOQL `query`/`queryAll` with paging
(`nextRecordsUrl`, batch size from `Sforce-Query-Options`), `limits`, and the Tooling API's
`CustomField` create (the one piece of Tooling/Metadata the sandbox supports)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, request

from sandbox.answers import as_json
from sandbox.salesforce import soql
from sandbox.salesforce.org import Record, SalesforceOrg
from sandbox.salesforce.schema import Field, SObject, custom_field
from sandbox.salesforce.values import SalesforceError, parse_time, sf_time

QUERY_BATCH = 2000  # records per query page unless Sforce-Query-Options asks for fewer (200-2000)


def json_body() -> Any:
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise SalesforceError("JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON value")
    return body


def base(version: str) -> str:
    return f"/services/data/v{version}"


def record_json(
    record: Record, obj: SObject, version: str, fields: list[str] | None = None
) -> dict[str, Any]:
    names = fields if fields is not None else list(obj.fields)
    attributes = {"type": obj.name, "url": f"{base(version)}/sobjects/{obj.name}/{record.id}"}
    return {"attributes": attributes} | {name: record.value(name) for name in names}


def saved(record_id: str, created: bool | None = None, status: int = 201) -> Response:
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        body["created"] = created
    return as_json(body, status)


def resources(org: SalesforceOrg, version: str) -> Response:
    names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs", "tooling")
    return as_json({name: f"{base(version)}/{name}" for name in names})


def limits(org: SalesforceOrg, version: str) -> Response:
    with org.lock:
        batches = sum(job.batches for job in org.jobs.values())
    return as_json(
        {
            "DailyApiRequests": {"Max": org.daily_max, "Remaining": max(0, org.daily_max - org.used)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000 - batches},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        }
    )


# --- sobjects ------------------------------------------------------------------------------


def route(parts: list[str], method: str) -> tuple[Callable[..., Response], tuple[Any, ...]]:
    if not parts and method == "GET":
        return describe_global, ()
    if len(parts) == 1:
        if method == "GET":
            return basic_info, (parts[0],)
        if method == "POST":
            return create, (parts[0],)
    if len(parts) == 2 and parts[1] == "describe" and method == "GET":
        return describe, (parts[0],)
    if len(parts) == 2 and parts[1] in ("updated", "deleted") and method == "GET":
        return changed, (parts[0], parts[1])
    if len(parts) == 2 and method in ("GET", "PATCH", "DELETE"):
        return by_id, (parts[0], parts[1])
    if len(parts) == 3 and method in ("GET", "PATCH", "DELETE"):
        return by_external_id, (parts[0], parts[1], parts[2])
    raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


def _object_info(obj: SObject, version: str) -> dict[str, Any]:
    url = f"{base(version)}/sobjects/{obj.name}"
    flags = (
        "createable",
        "updateable",
        "deletable",
        "queryable",
        "retrieveable",
        "searchable",
        "undeletable",
    )
    return (
        {"name": obj.name, "label": obj.label, "keyPrefix": obj.key_prefix, "custom": False}
        | dict.fromkeys(flags, True)
        | {"urls": {"sobject": url, "describe": f"{url}/describe", "rowTemplate": f"{url}/{{ID}}"}}
    )


def describe_global(org: SalesforceOrg, version: str) -> Response:
    objects = [_object_info(o, version) for o in org.objects.values()]
    return as_json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})


def basic_info(org: SalesforceOrg, version: str, name: str) -> Response:
    obj = org.sobject(name)
    return as_json({"objectDescribe": _object_info(obj, version), "recentItems": []})


def describe(org: SalesforceOrg, version: str, name: str) -> Response:
    obj = org.sobject(name)
    with org.lock:
        fields = [f.describe() for f in obj.fields.values()]
    return as_json(_object_info(obj, version) | {"fields": fields})


def create(org: SalesforceOrg, version: str, name: str) -> Response:
    obj, body = org.sobject(name), json_body()
    if not isinstance(body, dict):
        raise SalesforceError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from START_ARRAY")
    if "Id" in body:
        raise SalesforceError(
            "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id.", ["Id"]
        )
    return saved(org.write(obj, None, body))


def _fields_param(obj: SObject) -> list[str] | None:
    wanted = request.args.get("fields")
    if not wanted:
        return None
    out = []
    for name in wanted.split(","):
        f = obj.field(name.strip())
        if f is None:
            raise SalesforceError("INVALID_FIELD", f"No such column '{name}' on entity '{obj.name}'")
        out.append(f.name)
    return out


def by_id(org: SalesforceOrg, version: str, name: str, record_id: str) -> Response:
    obj = org.sobject(name)
    with org.lock:
        record = org.get(obj, record_id)
        if request.method == "GET":
            return as_json(record_json(record, obj, version, _fields_param(obj)))
        if request.method == "DELETE":
            org.delete(obj, record)
            return Response("", 204)
        body = json_body()
        if not isinstance(body, dict):
            raise SalesforceError(
                "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from START_ARRAY"
            )
        org.write(obj, record, body)
    return Response("", 204)


def by_external_id(org: SalesforceOrg, version: str, name: str, field_name: str, value: str) -> Response:
    """GET, DELETE or PATCH (upsert) `sobjects/<Object>/<ExternalIdField>/<value>`."""
    obj = org.sobject(name)
    with org.lock:
        matches = org.by_external_id(obj, field_name, value)
        if len(matches) > 1:
            return as_json([f"{base(version)}/sobjects/{obj.name}/{r.id}" for r in matches], 300)
        if request.method != "PATCH":
            if not matches:
                raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
            if request.method == "DELETE":
                org.delete(obj, matches[0])
                return Response("", 204)
            return as_json(record_json(matches[0], obj, version, _fields_param(obj)))
        body = json_body()
        if not isinstance(body, dict):
            raise SalesforceError(
                "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from START_ARRAY"
            )
        f = obj.field(field_name)
        assert f is not None
        if f.type == "id":
            if not matches:
                raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
            return saved(org.write(obj, matches[0], body), created=False, status=200)
        if not matches:
            return saved(org.write(obj, None, {**body, f.name: value}), created=True)
        return saved(org.write(obj, matches[0], body), created=False, status=200)


def changed(org: SalesforceOrg, version: str, name: str, kind: str) -> Response:
    """`updated/?start=&end=` ids changed, `deleted/?start=&end=` records deleted, in the window."""
    obj = org.sobject(name)
    start, end = parse_time(request.args.get("start", "")), parse_time(request.args.get("end", ""))
    if start is None or end is None:
        raise SalesforceError("MALFORMED_QUERY", "start and end must be dateTime values")
    with org.lock:
        rows = [r for r in org.records[obj.name].values() if start <= r.modified <= end]
    if kind == "updated":
        return as_json({"ids": [r.id for r in rows if not r.deleted], "latestDateCovered": sf_time(end)})
    earliest = datetime.now(UTC) - timedelta(days=15)
    deleted = [{"id": r.id, "deletedDate": sf_time(r.modified)} for r in rows if r.deleted]
    return as_json(
        {
            "deletedRecords": deleted,
            "earliestDateAvailable": sf_time(earliest),
            "latestDateCovered": sf_time(end),
        }
    )


# --- query ---------------------------------------------------------------------------------


def query(org: SalesforceOrg, version: str, include_deleted: bool, locator: str | None) -> Response:
    if locator is not None:
        return _next_page(org, version, locator)
    text = request.args.get("q")
    if not text:
        raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified")
    with org.lock:
        parsed = soql.parse(text, org.sobject)
        obj = org.objects[parsed.object]
        rows = [r for r in org.records[obj.name].values() if include_deleted or not r.deleted]
        if parsed.where is not None:
            rows = [r for r in rows if parsed.where(r.value)]
        for name, descending in reversed(parsed.order):
            rows.sort(key=_sorting(obj.fields[name]), reverse=descending)
        rows = rows[parsed.offset :]
        if parsed.limit is not None:
            rows = rows[: parsed.limit]
        if parsed.count_only:
            return as_json({"totalSize": len(rows), "done": True, "records": []})
        ids = [r.id for r in rows]
        cursor = f"01g5g{len(org.cursors):010d}"
        org.cursors[cursor] = (ids, parsed.fields, obj.name, include_deleted)
    return _page(org, version, cursor, 0)


def _sorting(f: Field) -> Callable[[Record], tuple[int, Any]]:
    return lambda r: soql.sort_key(soql.comparable(f, r.value(f.name)))


def _batch_size() -> int:
    options = request.headers.get("Sforce-Query-Options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key == "batchSize" and value.isdigit():
            return min(max(int(value), 200), QUERY_BATCH)
    return QUERY_BATCH


def _next_page(org: SalesforceOrg, version: str, locator: str) -> Response:
    cursor, _, start = locator.rpartition("-")
    if cursor not in org.cursors or not start.isdigit():
        raise SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(org, version, cursor, int(start))


def _page(org: SalesforceOrg, version: str, cursor: str, start: int) -> Response:
    ids, fields, name, include_deleted = org.cursors[cursor]
    obj = org.objects[name]
    end = start + _batch_size()
    with org.lock:
        rows = [org.records[name].get(i) for i in ids[start:end]]
        records = [record_json(r, obj, version, fields) for r in rows if r is not None]
    body: dict[str, Any] = {"totalSize": len(ids), "done": end >= len(ids), "records": records}
    if end < len(ids):
        endpoint = "queryAll" if include_deleted else "query"
        body["nextRecordsUrl"] = f"{base(version)}/{endpoint}/{cursor}-{end}"
    return as_json(body)


# --- Tooling: CustomField -----------------------------------------------------------------


def create_custom_field(org: SalesforceOrg, version: str) -> Response:
    """`POST tooling/sobjects/CustomField {"FullName": "Contact.Segment__c", "Metadata": {…}}`."""
    body = json_body()
    full = body.get("FullName", "") if isinstance(body, dict) else ""
    metadata = body.get("Metadata") if isinstance(body, dict) else None
    object_name, _, field_name = str(full).partition(".")
    if not field_name or not isinstance(metadata, dict):
        raise SalesforceError("INVALID_INPUT", "FullName (Object.Field__c) and Metadata are required")
    made = custom_field(field_name, metadata)
    if isinstance(made, str):
        raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", made, ["Metadata"])
    org.add_field(object_name, made)
    return saved(org.new_id("00N"))
