"""A Bulk API 2.0 job as the push sends one (an upsert, or an erasure's hardDelete): the rows
written once as the job's CSV (CRLF, so a bare \r in a value is quoted; `#N/A` clears a field;
over 100 MB, jobs of half as many rows), the job created, uploaded
and closed as one step, then polled until it ends and its results read back by column position
(the failed ones only when the job counted any), each a step of its own: a failure after the
close is tried again on the same job, never by sending the job again. Calls go through
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
from typing import Any, TypeVar, cast

from simple_salesforce import Salesforce
from simple_salesforce.util import call_salesforce

from connector.errors import FailPermanently, RetryLater
from destinations.salesforce.texts import bulk_reason, csv_value

MAX_BYTES = 100 * 1024 * 1024  # one upload's CSV at most (Bulk API 2.0: 150 MB once base64-encoded)
LONGEST_POLL_S = 10.0
GIVE_UP_S = 30 * 60  # a job still running after this is aborted; the marks stay for the next push
ENDED = ("JobComplete", "Failed", "Aborted")
Saved = tuple[dict[str, str], dict[str, str], set[str]]  # saved: key → Id; refused: key → why; created
T = TypeVar("T")
Runner = Callable[[Callable[[Salesforce], T]], T]  # one step, tried again as the client's rules say


def upsert(
    run: Runner[Any], sobject: str, key: str, rows: list[dict[str, Any]], first_poll_s: float
) -> Saved:
    """Upsert `rows` (each carrying `key`): what they saved, refused (in words) and created; in
    one job, or in jobs of half as many rows while a CSV is over the upload limit."""
    job = {"object": sobject, "operation": "upsert", "externalIdFieldName": key}
    saved, refused, created = _in_jobs(run, job, key, rows, first_poll_s)
    return saved, {k: bulk_reason(why) for k, why in refused.items()}, created


def hard_delete(run: Runner[Any], sobject: str, ids: list[str], first_poll_s: float) -> dict[str, str]:
    """Delete these records for good (no recycle bin): id → Salesforce's error ("CODE:message")
    for each it did not report deleted (one in neither results file is kept, in those words)."""
    job = {"object": sobject, "operation": "hardDelete"}
    saved, refused, _ = _in_jobs(run, job, "Id", [{"Id": i} for i in ids], first_poll_s)
    unreported = {i: "UNREPORTED:the job reported no result for it" for i in ids if i not in saved}
    return unreported | refused


def _in_jobs(
    run: Runner[Any], job: dict[str, str], key: str, rows: list[dict[str, Any]], first_s: float
) -> Saved:
    columns = list(dict.fromkeys(name for row in rows for name in row))
    body = _csv(columns, rows).encode()
    if len(body) <= MAX_BYTES:
        return _one_job(run, job, key, body, first_s)
    if len(rows) == 1:
        raise FailPermanently(f"a {job['object']} record's CSV row exceeds Bulk API 2.0's 100 MB upload")
    half = len(rows) // 2
    saved, refused, created = _in_jobs(run, job, key, rows[:half], first_s)
    more = _in_jobs(run, job, key, rows[half:], first_s)
    return saved | more[0], refused | more[1], created | more[2]


def _one_job(run: Runner[Any], job: dict[str, str], key: str, body: bytes, first_poll_s: float) -> Saved:
    """One job: what it saved, refused (Salesforce's "CODE:message") and created. Each step is
    `run` on its own, so a failed poll or results read is tried again on the same job: once
    closed, a job is never sent a second time while it may still be running."""
    job_id: str = run(lambda sf: _opened(sf, job, body))
    try:
        ended = _wait(lambda: run(lambda sf: _job_state(sf, job_id)), first_poll_s, job_id)
    except RetryLater:  # given up on, or Salesforce unreachable: not left running under the next try
        _abort(run, job_id)
        raise
    saved, created = run(lambda sf: _saved(sf, job_id, key))
    failed = int(ended.get("numberRecordsFailed") or 0)  # none: no call for an empty list
    return saved, run(lambda sf: _refused(sf, job_id, key)) if failed else {}, created


def _opened(sf: Salesforce, job: dict[str, str], body: bytes) -> str:
    """A job made, its CSV uploaded and closed: its id. Tried again as a whole, since a job
    not closed never runs; one whose upload or close failed is aborted unless it runs."""
    spec = job | {"contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "CRLF"}
    job_id = str(_call(sf, "POST", "", json.dumps(spec)).json()["id"])
    try:
        _call(sf, "PUT", f"/{job_id}/batches", body, sending="text/csv")
        _call(sf, "PATCH", f"/{job_id}", json.dumps({"state": "UploadComplete"}))
    except Exception:
        with suppress(Exception):
            if _job_state(sf, job_id).get("state") not in (None, "Open"):
                return job_id  # the close took effect, its answer lost: this job runs, wait for it
        with suppress(Exception):
            _call(sf, "PATCH", f"/{job_id}", json.dumps({"state": "Aborted"}))
        raise
    return job_id


def _job_state(sf: Salesforce, job_id: str) -> dict[str, Any]:
    return cast(dict[str, Any], _call(sf, "GET", f"/{job_id}").json())


def _abort(run: Runner[Any], job_id: str) -> None:
    with suppress(Exception):  # ended meanwhile, or Salesforce still unreachable
        run(lambda sf: _call(sf, "PATCH", f"/{job_id}", json.dumps({"state": "Aborted"})))


def _saved(sf: Salesforce, job_id: str, key: str) -> tuple[dict[str, str], set[str]]:
    """The job's successful records: key → Salesforce id, and the keys it made new."""
    saved: dict[str, str] = {}
    created: set[str] = set()
    header, *rows = _rows(_call(sf, "GET", f"/{job_id}/successfulResults/", accept="text/csv").text)
    if rows:
        at_id, at_created, at_key = _columns(header, job_id, "sf__Id", "sf__Created", key)
        for row in rows:
            saved[row[at_key]] = row[at_id]
            if row[at_created].lower() == "true":
                created.add(row[at_key])
    return saved, created


def _refused(sf: Salesforce, job_id: str, key: str) -> dict[str, str]:
    """The job's failed records: key → Salesforce's error ("CODE:message:fields")."""
    header, *rows = _rows(_call(sf, "GET", f"/{job_id}/failedResults/", accept="text/csv").text)
    if not rows:
        return {}
    at_error, at_key = _columns(header, job_id, "sf__Error", key)
    return {row[at_key]: row[at_error] for row in rows}


def _columns(header: list[str], job_id: str, *names: str) -> list[int]:
    """Where each named column is in a results file; one missing is Salesforce's answer
    unreadable, tried again later (the job's records are upserted again, in place)."""
    missing = [name for name in names if name not in header]
    if missing:
        raise RetryLater(f"Salesforce's results of Bulk job {job_id} lack the column(s) {', '.join(missing)}")
    return [header.index(name) for name in names]


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF: a value holding a bare \r is quoted too
    writer.writerow(columns)
    writer.writerows(
        [v if (v := row.get(c, "")).__class__ is str else csv_value(v) for c in columns] for row in rows
    )  # a column a row lacks is left as it is (""); a text goes as it is, without a call
    return out.getvalue()


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
    """A results file's rows; a short row (a file cut off) is one unreadable, tried again."""
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]  # a blank line is none
    if any(len(row) != len(rows[0]) for row in rows):
        raise RetryLater("Salesforce's Bulk results could not be read: a row is cut short")
    return rows if rows else [[]]
