"""A Bulk API 2.0 upsert job as the push sends one: the batch's rows written once as the job's
CSV (lists through csv.writer; `#N/A` clears a field), the job created, its CSV uploaded, closed
and polled until it ends, and its results read back by column position (the failed ones only
when the job counted any). Each call goes through
simple-salesforce's `call_salesforce`, so its errors are simple-salesforce's exceptions, mapped
by the client. Not `SFBulk2Type.upsert(records=…)`: it writes the CSV from dicts, then counts and
splits it again before uploading, a quarter of a 100,000-contact push's CPU (bench/RESULTS.md).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.util import call_salesforce

from connector.errors import FailPermanently, RetryLater
from destinations.salesforce.texts import bulk_reason, csv_value

MAX_BYTES = 100 * 1024 * 1024  # one upload's CSV at most (Bulk API 2.0: 150 MB once base64-encoded)
LONGEST_POLL_S = 10.0
GIVE_UP_S = 30 * 60  # a job still running after this is left to Salesforce; the marks stay
ENDED = ("JobComplete", "Failed", "Aborted")
Saved = tuple[dict[str, str], dict[str, str], set[str]]  # saved: key → Id; refused: key → why; created


def upsert(sf: Salesforce, sobject: str, key: str, rows: list[dict[str, Any]], first_poll_s: float) -> Saved:
    """Upsert `rows` (each carrying `key`) in one job: what it saved, refused and created."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    body = _csv(columns, rows).encode()
    if len(body) > MAX_BYTES:
        raise FailPermanently(f"a Bulk API 2.0 upload of {len(rows)} {sobject} records exceeds 100 MB")
    job_id = str(_call(sf, "POST", "", json.dumps(_job(sobject, key))).json()["id"])
    try:
        _call(sf, "PUT", f"/{job_id}/batches", body, sending="text/csv")
        _call(sf, "PATCH", f"/{job_id}", json.dumps({"state": "UploadComplete"}))
    except Exception:  # not left open: the try that follows makes a job of its own
        with suppress(Exception):
            _call(sf, "PATCH", f"/{job_id}", json.dumps({"state": "Aborted"}))
        raise
    ended = _wait(lambda: _call(sf, "GET", f"/{job_id}").json(), first_poll_s, job_id)
    saved, created = _saved(sf, job_id, key)
    failed = int(ended.get("numberRecordsFailed") or 0)  # none: no call for an empty list
    return saved, _refused(sf, job_id, key) if failed else {}, created


def _saved(sf: Salesforce, job_id: str, key: str) -> tuple[dict[str, str], set[str]]:
    """The job's successful records: key → Salesforce id, and the keys it made new."""
    saved: dict[str, str] = {}
    created: set[str] = set()
    header, *rows = _rows(_call(sf, "GET", f"/{job_id}/successfulResults/", accept="text/csv").text)
    if rows:
        at_id, at_created, at_key = header.index("sf__Id"), header.index("sf__Created"), header.index(key)
        for row in rows:
            saved[row[at_key]] = row[at_id]
            if row[at_created].lower() == "true":
                created.add(row[at_key])
    return saved, created


def _refused(sf: Salesforce, job_id: str, key: str) -> dict[str, str]:
    """The job's failed records: key → Salesforce's reason, in words."""
    header, *rows = _rows(_call(sf, "GET", f"/{job_id}/failedResults/", accept="text/csv").text)
    if not rows:
        return {}
    at_error, at_key = header.index("sf__Error"), header.index(key)
    return {row[at_key]: bulk_reason(row[at_error]) for row in rows}


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([csv_value(row[c]) if c in row else "" for c in columns] for row in rows)
    return out.getvalue()


def _job(sobject: str, key: str) -> dict[str, str]:
    return {
        "object": sobject,
        "operation": "upsert",
        "externalIdFieldName": key,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }


def _call(
    sf: Salesforce,
    method: str,
    path: str,
    data: Any = None,
    *,
    sending: str = "application/json",
    accept: str = "application/json",
) -> Any:
    headers = dict(sf.headers) | {"Content-Type": sending, "Accept": accept}
    return call_salesforce(f"{sf.bulk2_url}ingest{path}", method, sf.session, headers, data=data)


def _wait(job_state: Callable[[], dict[str, Any]], first_s: float, job_id: str) -> dict[str, Any]:
    """Poll until the job ends, from `first_s` and doubling: the job as it ended; a job that
    failed as a whole is refused."""
    delay, deadline = first_s, time.monotonic() + GIVE_UP_S
    while True:
        time.sleep(delay)
        job = job_state()
        if job.get("state") in ENDED:
            break
        if time.monotonic() > deadline:
            raise RetryLater(f"Salesforce's Bulk job {job_id} is still {job.get('state')} after 30 minutes")
        delay = min(delay * 2, LONGEST_POLL_S)
    if job["state"] != "JobComplete":
        why = job.get("errorMessage") or job["state"]
        raise FailPermanently(f"Salesforce's Bulk job {job_id} ended {job['state']}: {why}")
    return job


def _rows(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows if rows else [[]]
