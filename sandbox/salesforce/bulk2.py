"""Bulk API 2.0 ingest jobs (`/jobs/ingest`): create a job (insert, update, upsert by an
external id, delete, hardDelete) → PUT its CSV to `batches` → PATCH `UploadComplete` → poll
until `JobComplete` → `successfulResults` (`sf__Id`, `sf__Created`, the row), `failedResults`
(`sf__Id`, `sf__Error`, the row) and `unprocessedrecords` as CSV. The sandbox processes a job
when its upload completes, 10,000 rows to an internal batch as Salesforce counts them; an empty
CSV cell leaves a field as it is and `#N/A` clears it."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Response, request

from sandbox.answers import as_json
from sandbox.salesforce.org import SalesforceOrg
from sandbox.salesforce.rest import json_body
from sandbox.salesforce.values import SalesforceError, sf_time

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
ROWS_PER_BATCH = 10_000
ROWS_PER_LOCK = 1_000  # rows a job applies per holding of the org's lock (other calls are answered between)
MAX_UPLOAD_BYTES = 150 * 1024 * 1024


@dataclass
class Job:
    id: str
    object: str
    operation: str
    external_id: str | None
    delimiter: str
    line_ending: str
    version: str
    created: datetime
    state: str = "Open"
    uploads: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    succeeded: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    batches: int = 0
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    error_message: str = ""

    def info(self, org: SalesforceOrg) -> dict[str, Any]:
        processed = len(self.succeeded) + len(self.failed)
        body = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": org.user_id,
            "createdDate": sf_time(self.created),
            "systemModstamp": sf_time(self.modified),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Ingest",
            "lineEnding": next(k for k, v in ENDINGS.items() if v == self.line_ending),
            "columnDelimiter": next(k for k, v in DELIMITERS.items() if v == self.delimiter),
            "numberRecordsProcessed": processed,
            "numberRecordsFailed": len(self.failed),
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if self.external_id:
            body["externalIdFieldName"] = self.external_id
        if self.error_message:
            body["errorMessage"] = self.error_message
        if self.state == "Open":
            body["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
        return body


def route(parts: list[str], method: str) -> tuple[Callable[..., Response], tuple[Any, ...]]:
    if not parts:
        if method == "POST":
            return create, ()
        if method == "GET":
            return listing, ()
    if len(parts) == 1 and method in ("GET", "PATCH", "DELETE"):
        return one, (parts[0],)
    if len(parts) == 2 and parts[1] == "batches" and method == "PUT":
        return upload, (parts[0],)
    if len(parts) == 2 and parts[1] in ("successfulResults", "failedResults", "unprocessedrecords"):
        return results, (parts[0], parts[1])
    raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


def create(org: SalesforceOrg, version: str) -> Response:
    body = json_body()
    if not isinstance(body, dict):
        raise SalesforceError("JSON_PARSER_ERROR", "a JSON object is expected")
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise SalesforceError("INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    obj = org.sobject(str(body.get("object", "")))
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        f = obj.field(str(external or ""))
        if f is None or not (f.external_id or f.type == "id"):
            raise SalesforceError(
                "INVALIDJOB",
                f"InvalidJob : Field name provided, {external} does not match an External ID, Salesforce Id, "
                f"or indexed field for {obj.name}",
            )
        external = f.name
    delimiter = DELIMITERS.get(str(body.get("columnDelimiter", "COMMA")))
    ending = ENDINGS.get(str(body.get("lineEnding", "LF")))
    if delimiter is None or ending is None or body.get("contentType", "CSV") != "CSV":
        raise SalesforceError(
            "INVALIDJOB", "InvalidJob : contentType CSV, a known columnDelimiter and lineEnding"
        )
    job = Job(org.new_id("750"), obj.name, operation, external, delimiter, ending, version, datetime.now(UTC))
    with org.lock:
        org.jobs[job.id] = job
    return as_json(job.info(org))


def listing(org: SalesforceOrg, version: str) -> Response:
    with org.lock:
        records = [job.info(org) for job in org.jobs.values()]
    return as_json({"done": True, "records": records, "nextRecordsUrl": None})


def _job(org: SalesforceOrg, job_id: str) -> Job:
    job = org.jobs.get(job_id)
    if job is None:
        raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
    return job


def one(org: SalesforceOrg, version: str, job_id: str) -> Response:
    job = _job(org, job_id)
    if request.method == "DELETE":
        if job.state in ("Open", "UploadComplete", "InProgress"):
            raise SalesforceError("API_ERROR", "Job is not in a final state and cannot be deleted")
        del org.jobs[job_id]
        return Response("", 204)
    if request.method == "GET":
        return as_json(job.info(org))
    state = (json_body() or {}).get("state")
    if state == "UploadComplete" and job.state == "Open":
        job.state = "UploadComplete"
        answer = job.info(org)
        _process(org, job)
        return as_json(answer)
    if state == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
        job.state = "Aborted"
        return as_json(job.info(org))
    raise SalesforceError("INVALIDJOBSTATE", f"Invalid job state transition from {job.state} to {state}")


def upload(org: SalesforceOrg, version: str, job_id: str) -> Response:
    job = _job(org, job_id)
    if job.state != "Open":
        raise SalesforceError("INVALIDJOBSTATE", "Job is not open for uploads")
    if not (request.content_type or "").startswith("text/csv"):
        raise SalesforceError("INVALIDJOB", "InvalidJob : Content-Type must be text/csv")
    data = request.get_data()
    if len(data) > MAX_UPLOAD_BYTES:
        raise SalesforceError("INVALIDJOB", "InvalidJob : the upload is over 150 MB", status=413)
    job.uploads.append(data.decode("utf-8"))
    return Response("", 201)


def _rows(job: Job) -> tuple[list[str], list[list[str]]]:
    header: list[str] = []
    rows: list[list[str]] = []
    for text in job.uploads:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=job.delimiter)
        lines = [line for line in reader if line]
        if not lines:
            continue
        if header and lines[0] != header:
            raise SalesforceError("INVALIDBATCH", "InvalidBatch : all uploads of a job must share the header")
        header = lines[0]
        rows += lines[1:]
    return header, rows


def _check_header(org: SalesforceOrg, job: Job, header: list[str]) -> None:
    """A column that names no field fails the whole job, as Salesforce fails it."""
    obj = org.objects[job.object]
    for name in header:
        if obj.field(name) is None:
            raise SalesforceError("INVALIDBATCH", f"InvalidBatch : Field name not found : {name}")


def _process(org: SalesforceOrg, job: Job) -> None:
    try:
        header, rows = _rows(job)
        _check_header(org, job, header)
    except SalesforceError as error:
        job.state, job.error_message, job.modified = "Failed", error.message, datetime.now(UTC)
        return
    job.header, job.state = header, "InProgress"
    obj = org.objects[job.object]
    for start in range(0, len(rows), ROWS_PER_LOCK):
        with org.lock:  # once per slice: taken per row, jobs at once spent their time handing it over
            for row in rows[start : start + ROWS_PER_LOCK]:
                _apply_row(org, job, obj, header, row)
        time.sleep(0)  # a call waiting on the lock gets it now: else this loop takes it straight back
    job.batches = max(1, -(-len(rows) // ROWS_PER_BATCH))
    job.state, job.modified = "JobComplete", datetime.now(UTC)


def _apply_row(org: SalesforceOrg, job: Job, obj: Any, header: list[str], row: list[str]) -> None:
    values = dict(zip(header, row, strict=False))
    try:
        record_id, created = _apply(org, job, obj, values)
        job.succeeded.append([record_id, "true" if created else "false", *row])
    except SalesforceError as error:
        fields = ":".join(error.fields)
        job.failed.append([values.get("Id", ""), f"{error.code}:{error.message}:{fields} --", *row])


def _apply(org: SalesforceOrg, job: Job, obj: Any, values: dict[str, str]) -> tuple[str, bool]:
    cleaned = {k: (None if v == "#N/A" else v) for k, v in values.items() if v != ""}
    if job.operation in ("delete", "hardDelete", "update"):
        if job.operation != "update" and set(values) != {"Id"}:
            raise SalesforceError("INVALIDBATCH", "a delete batch must contain only Id", ["Id"])
        record = org.get(obj, values.get("Id", ""), deleted=job.operation == "hardDelete")
        if job.operation == "update":
            return org.write(
                obj, record, {k: v for k, v in cleaned.items() if k != "Id"}, from_csv=True
            ), False
        org.delete(obj, record, hard=job.operation == "hardDelete")
        return record.id, False
    if job.operation == "insert":
        return org.write(obj, None, cleaned, from_csv=True), True
    key = values.get(str(job.external_id), "")
    if not key:
        raise SalesforceError("MISSING_ARGUMENT", f"{job.external_id} not specified", [str(job.external_id)])
    matches = org.by_external_id(obj, str(job.external_id), key)
    if len(matches) > 1:
        raise SalesforceError(
            "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}", [str(job.external_id)]
        )
    found = matches[0] if matches else None
    return org.write(obj, found, cleaned, from_csv=True), found is None


def results(org: SalesforceOrg, version: str, job_id: str, kind: str) -> Response:
    job = _job(org, job_id)
    if kind == "unprocessedrecords":
        header, rows = job.header, job.unprocessed
    elif kind == "successfulResults":
        header, rows = ["sf__Id", "sf__Created", *job.header], job.succeeded
    else:
        header, rows = ["sf__Id", "sf__Error", *job.header], job.failed
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=job.delimiter, lineterminator=job.line_ending)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return Response(out.getvalue(), 200, mimetype="text/csv")
