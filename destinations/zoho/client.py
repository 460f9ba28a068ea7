"""A Zoho CRM client for one org over `requests`. Zoho's Python SDK works against the sandbox
(tests/sandbox/test_zoho_sdk.py) but keeps one process-wide signed-in user (`Initializer`), its
own token store and field-metadata files, which a worker serving many merchants' sealed grants
cannot share; so the connector speaks the documented REST shapes itself: the refresh-token
grant at the org's data-center accounts server, whose answer names the `api_domain`; upserts of
100 records a call by duplicate-check fields with a result per record; deletes by id; opt-outs
read since a time with `If-Modified-Since`, a page (then a page token) at a time. Failures
become connector errors named for the next action; a throttle's Retry-After is kept when sent.
It keeps the credits `X-API-CREDITS-REMAINING` last reported and, like a 429 that says the day's
credits are spent, stops (RetryLater for an hour) before a write those credits cannot pay for.
Safe to share between threads (the token is refreshed once for all)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from connector.errors import FailPermanently, Reauthorize, RetryLater
from destinations.oauth import json_object, token_grant

API_VERSION = "v6"
BATCH = 100  # records per insert, update, upsert or delete call
PER_PAGE = 200
WRITE_CREDITS = 10  # what an insert, update or upsert of 100 records costs (1 per 10 records)
SPENT_WAIT_S = 3600.0  # credits spent: the push stops and cron tries again after this
SPENT_WORDS = "24 hour"  # a 429 whose message names the 24-hour window: the credits are spent


@dataclass
class Outcome:
    """Which records were saved (their key → the record id) and which refused (→ the reason)."""

    saved: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OptOut:
    email: str
    record_id: str
    at: datetime


class ZohoClient:
    def __init__(
        self,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        session: requests.Session | None = None,
        version: str = API_VERSION,
    ) -> None:
        self.accounts_url, self.version = accounts_url.rstrip("/"), version
        self._grant = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
        self._session = session or requests.Session()
        self._token: str | None = None
        self._signing_in = threading.Lock()
        self.api_domain: str | None = None
        self.credits_remaining: int | None = None  # as X-API-CREDITS-REMAINING last said

    def sign_in(self) -> None:
        """The refresh-token grant (`destinations.oauth`); Zoho answers a refused one with HTTP 200
        and an `error`, which comes back as Reauthorize naming Zoho's code."""
        form = {"grant_type": "refresh_token"} | self._grant
        try:
            body = token_grant(self._session, self.accounts_url + "/oauth/v2/token", form)
        except Reauthorize as exc:
            raise Reauthorize(
                f"Zoho refused the refresh token ({exc.detail}): reconnect the destination with a new grant",
                detail=exc.detail,
            ) from None
        api_domain = body.get("api_domain")
        if not isinstance(api_domain, str) or not api_domain:
            raise FailPermanently("Zoho's token answer named no api_domain")
        self._token, self.api_domain = body["access_token"], api_domain

    def close(self) -> None:
        self._session.close()

    def _request(self, method: str, path: str, **kw: Any) -> requests.Response:
        left = self.credits_remaining
        writes = method in ("POST", "PUT") and path != "coql"  # a COQL read is a POST too
        if writes and left is not None and left < WRITE_CREDITS:
            raise RetryLater(
                f"Zoho CRM's API credits are spent ({left} left for the last 24 hours)",
                retry_after=SPENT_WAIT_S,
            )
        extra = kw.pop("headers", {})
        for attempt in (1, 2):
            token = self._signed_in()
            headers = {"Authorization": f"Zoho-oauthtoken {token}"} | extra
            url = f"{self.api_domain}/crm/{self.version}/{path}"
            try:
                answer = self._session.request(method, url, headers=headers, timeout=60, **kw)
            except requests.RequestException as exc:
                raise RetryLater("Zoho CRM could not be reached", detail=str(exc)) from exc
            self._note_credits(answer)
            if (
                answer.status_code == 401
                and json_object(answer).get("code") == "INVALID_TOKEN"
                and attempt == 1
            ):
                with self._signing_in:
                    if self._token == token:
                        self._token = None
                continue
            return _checked(answer)
        raise AssertionError("unreachable")

    def _signed_in(self) -> str:
        with self._signing_in:
            if self._token is None:
                self.sign_in()
            assert self._token is not None
            return self._token

    def _note_credits(self, answer: requests.Response) -> None:
        found = answer.headers.get("X-API-CREDITS-REMAINING")
        if found is not None and found.strip().isdigit():
            self.credits_remaining = int(found)

    # --- writing ---------------------------------------------------------------------------

    def upsert(self, module: str, key_field: str, records: list[dict[str, Any]]) -> Outcome:
        """Upsert by `key_field` (a unique field, first of the duplicate checks); every record has it."""
        outcome = Outcome()
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            body = {"data": chunk, "duplicate_check_fields": [key_field]}
            results = json_object(self._request("POST", f"{module}/upsert", json=body)).get("data", [])
            for record, result in zip(chunk, results, strict=True):
                key = str(record[key_field])
                if result.get("status") == "success":
                    outcome.saved[key] = str(result["details"]["id"])
                else:
                    outcome.refused[key] = _reason(result)
        return outcome

    def delete(self, module: str, record_ids: list[str]) -> Outcome:
        outcome = Outcome()
        for start in range(0, len(record_ids), BATCH):
            chunk = record_ids[start : start + BATCH]
            answer = self._request("DELETE", module, params={"ids": ",".join(chunk)})
            for result in json_object(answer).get("data", []):
                record_id = str(result.get("details", {}).get("id", ""))
                if result.get("status") == "success":
                    outcome.saved[record_id] = record_id
                else:
                    outcome.refused[record_id] = _reason(result)
        return outcome

    def update(self, module: str, records: list[dict[str, Any]]) -> Outcome:
        """Update records by their `id` (100 a call); the outcome is keyed by that id."""
        outcome = Outcome()
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            results = json_object(self._request("PUT", module, json={"data": chunk})).get("data", [])
            for record, result in zip(chunk, results, strict=True):
                if result.get("status") == "success":
                    outcome.saved[str(record["id"])] = str(record["id"])
                else:
                    outcome.refused[str(record["id"])] = _reason(result)
        return outcome

    # --- reading ---------------------------------------------------------------------------

    def fields(self, module: str) -> list[dict[str, Any]]:
        """The module's fields as `settings/fields` describes them."""
        answer = self._request("GET", "settings/fields", params={"module": module})
        return list(json_object(answer).get("fields", []))

    def add_fields(self, module: str, specs: list[dict[str, Any]]) -> dict[str, str]:
        """Custom fields made (`POST settings/fields`); answers the refused ones' labels → reason."""
        answer = self._request("POST", "settings/fields", params={"module": module}, json={"fields": specs})
        results = json_object(answer).get("fields", [])
        return {
            str(spec.get("field_label")): _reason(result)
            for spec, result in zip(specs, results, strict=False)
            if result.get("status") != "success"
        }

    def search(self, module: str, criteria: str, fields: str) -> Iterator[dict[str, Any]]:
        """Every record matching `criteria` (`(Field:equals:value)`), with these fields, a page at a time."""
        page = 1
        while True:
            params = {"criteria": criteria, "fields": fields, "per_page": str(PER_PAGE), "page": str(page)}
            answer = self._request("GET", f"{module}/search", params=params)
            if answer.status_code == 204:
                return
            body = json_object(answer)
            yield from body.get("data", [])
            if not body.get("info", {}).get("more_records"):
                return
            page += 1

    def query(self, select: str) -> list[dict[str, Any]]:
        """The rows a COQL select answers (its LIMIT and OFFSET are the caller's), read from what
        the org holds now rather than a search index. Needs the ZohoCRM.coql.READ scope."""
        try:
            answer = self._request("POST", "coql", json={"select_query": select})
        except Reauthorize as refused:
            if "OAUTH_SCOPE_MISMATCH" not in refused.reason:
                raise
            raise Reauthorize(
                "Zoho CRM's grant lacks the ZohoCRM.coql.READ scope, needed to find the records the "
                "connector sent: reconnect with it"
            ) from None
        if answer.status_code == 204:
            return []
        return list(json_object(answer).get("data", []))

    def opted_out_since(self, since: datetime) -> list[OptOut]:
        out = []
        for row in self._changed("Contacts", "Email,Email_Opt_Out,Modified_Time", since):
            if row.get("Email_Opt_Out"):
                at = datetime.fromisoformat(row["Modified_Time"])
                out.append(OptOut(row.get("Email") or "", str(row["id"]), at))
        return out

    def _changed(self, module: str, fields: str, since: datetime) -> Iterator[dict[str, Any]]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        params: dict[str, str] = {"fields": fields, "per_page": str(PER_PAGE), "sort_by": "Modified_Time"}
        params |= {"sort_order": "asc", "page": "1"}
        while True:
            answer = self._request("GET", module, params=params, headers={"If-Modified-Since": stamp})
            if answer.status_code == 204:
                return
            body = json_object(answer)
            yield from body.get("data", [])
            info = body.get("info", {})
            if not info.get("more_records"):
                return
            token = info.get("next_page_token")
            params.pop("page", None)
            if token:
                params["page_token"] = token
            else:
                params["page"] = str(int(info.get("page", 1)) + 1)


def _checked(answer: requests.Response) -> requests.Response:
    """2xx (207 and a 400 carrying per-record results included) passes; the rest become actions."""
    status, body = answer.status_code, json_object(answer)
    if status < 300 or (status == 400 and "data" in body):
        return answer
    code = str(body.get("code", status))
    if status == 429:
        left = answer.headers.get("X-API-CREDITS-REMAINING")
        if SPENT_WORDS in str(body.get("message", "")) or left == "0":
            raise RetryLater(
                f"Zoho CRM's API credits for the last 24 hours are spent ({code})", retry_after=SPENT_WAIT_S
            )
        retry = answer.headers.get("Retry-After")
        raise RetryLater(f"Zoho CRM is throttling ({code})", retry_after=_seconds(retry))
    if status >= 500:
        raise RetryLater(f"Zoho CRM answered {status} ({code})")
    if status == 401:
        raise Reauthorize(f"Zoho CRM refused the token ({code}): reconnect")
    raise FailPermanently(f"Zoho CRM refused the request ({code})", detail=str(body.get("details")))


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _reason(result: dict[str, Any]) -> str:
    """Zoho's per-record error in plain words: 'required field not found: Last_Name'."""
    details = result.get("details") or {}
    named = details.get("api_name") if isinstance(details, dict) else None
    message = str(result.get("message") or result.get("code") or "refused")
    return f"{message}: {named}" if named else message
